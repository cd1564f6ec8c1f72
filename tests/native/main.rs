//! Native integration tests: one binary, a module per feature. They run on the real model,
//! which `make test` fetches first (models/fetch.sh), and the reference embeddings in
//! ../shared/reference.

mod architectures;
mod cli;
mod confidence;
mod early;
mod encoder;
mod fetch;
mod fuzz;
mod fuzz_text;
mod inbox;
mod kb;
mod multilingual;
mod packed;
mod postgres;
mod readings;
mod site;
mod sources;
mod trained;
mod util;
