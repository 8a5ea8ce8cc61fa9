//! With the `docs` feature, gathers the API reference page's assets (Swagger UI from
//! npm's `swagger-ui-dist`, our page and its script) into OUT_DIR for `include_bytes!`.

use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=docs");
    println!("cargo::rerun-if-changed=node_modules/swagger-ui-dist/package.json");
    if std::env::var_os("CARGO_FEATURE_DOCS").is_none() {
        return;
    }
    let (Some(root), Some(out)) = (std::env::var_os("CARGO_MANIFEST_DIR"), std::env::var_os("OUT_DIR")) else {
        return;
    };
    let root = Path::new(&root);
    let out = Path::new(&out);
    let files = [
        (root.join("docs/index.html"), "index.html"),
        (root.join("docs/init.js"), "init.js"),
        (root.join("node_modules/swagger-ui-dist/swagger-ui.css"), "swagger-ui.css"),
        (root.join("node_modules/swagger-ui-dist/swagger-ui-bundle.js"), "swagger-ui-bundle.js"),
    ];
    for (from, name) in files {
        if let Err(e) = std::fs::copy(&from, out.join(name)) {
            eprintln!("error: cannot read {}: {e}. Run `npm ci` at the repository root first.", from.display());
            std::process::exit(1);
        }
    }
}
