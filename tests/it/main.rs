//! Integration tests: the real binary as a child process against the local stack (a real S3
//! server with SigV4, the CDN and orchestrator stand-ins) on loopback.

mod checklist;
mod commands;
mod common;
mod confinement;
mod containers;
mod correctness;
mod docs;
mod extras;
mod faults;
mod formats;
mod network;
mod real_world;
mod url_secrets;
mod writes;
