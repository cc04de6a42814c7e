//! `arke-image-processor`: turns one uploaded photo into web-ready variants.
//!
//! A Fly machine runs the binary once per image. It reads its task from the environment
//! ([`config`]), downloads the original from the staging bucket ([`storage`]), makes `thumb`,
//! `medium`, `large` and a metadata-free `original` ([`plan`], [`image`]), uploads them to the
//! CDN ([`cdn`]) while archiving the untouched original, writes `{INPUT_R2_KEY}.ref.json`, and
//! POSTs exactly one callback ([`callback`]) — also on errors, panics, the deadline and
//! SIGINT/SIGTERM. The steps themselves are in [`job`]; the command line is [`cli`], the run
//! that always ends in one callback is [`supervisor`].

pub mod archive;
pub mod callback;
pub mod cdn;
pub mod cli;
pub mod config;
pub mod control;
pub mod error;
pub mod image;
pub mod job;
pub mod log;
pub mod net;
pub mod plan;
pub mod sandbox;
pub mod storage;
pub mod supervisor;
pub mod urls;
