// The floor of the benchmarks: the cheapest possible worker on the same workerd.
export default {
  async fetch() {
    return new Response("ok");
  },
};
