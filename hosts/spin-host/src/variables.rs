//! `spin:variables/variables@3.0.0`: values from `--var NAME=VALUE` and from
//! `SPIN_VARIABLE_<UPPERCASE_NAME>` environment variables (Spin's environment
//! provider convention). `--var` wins over the environment.

use crate::bindings::variables::{self, Error};
use crate::HostState;
use std::collections::HashMap;
use wasmtime::component::{Accessor, HasSelf};

const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// Spin variable names: lowercase ASCII letters, digits and underscores,
/// starting with a letter, no double or trailing underscore.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_ascii_lowercase()
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

/// The resolved variables, by (lowercase) name.
#[derive(Default, Debug)]
pub struct Variables {
    values: HashMap<String, String>,
}

impl Variables {
    /// `cli` values (from `--var`) override those found in `env`.
    pub fn resolve(
        cli: impl IntoIterator<Item = (String, String)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut values = HashMap::new();
        for (key, value) in env {
            if let Some(name) = key.strip_prefix(ENV_PREFIX) {
                let name = name.to_ascii_lowercase();
                if valid_name(&name) {
                    values.insert(name, value);
                }
            }
        }
        for (name, value) in cli {
            anyhow::ensure!(
                valid_name(&name),
                "invalid variable name {name:?}: use lowercase letters, digits and single underscores, starting with a letter"
            );
            values.insert(name, value);
        }
        Ok(Self { values })
    }

    pub fn get(&self, name: &str) -> Result<String, Error> {
        if !valid_name(name) {
            return Err(Error::InvalidName(format!("invalid variable name {name:?}")));
        }
        self.values.get(name).cloned().ok_or_else(|| Error::Undefined(format!("no variable for {name:?}")))
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }
}

impl variables::Host for HostState {}

impl variables::HostWithStore for HasSelf<HostState> {
    async fn get<T>(accessor: &Accessor<T, Self>, name: String) -> wasmtime::Result<Result<String, Error>> {
        Ok(accessor.with(|mut access| access.get().shared.vars.get(&name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["api_key", "a1"] {
            assert!(valid_name(good), "{good:?}");
        }
        for bad in ["Api", "1a", "a__b", "a_", ""] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn cli_overrides_env() -> anyhow::Result<()> {
        let vars = Variables::resolve(
            [("region".to_string(), "cli".to_string())],
            [
                ("SPIN_VARIABLE_REGION".to_string(), "env".to_string()),
                ("SPIN_VARIABLE_TOKEN".to_string(), "t".to_string()),
                ("OTHER".to_string(), "x".to_string()),
            ],
        )?;
        assert_eq!(vars.get("region").ok().as_deref(), Some("cli"));
        assert_eq!(vars.get("token").ok().as_deref(), Some("t"));
        assert!(matches!(vars.get("other"), Err(Error::Undefined(_))));
        assert!(matches!(vars.get("Bad"), Err(Error::InvalidName(_))));
        Ok(())
    }
}
