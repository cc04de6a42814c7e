//! Rows moving between threads: the decoded rows a resizer reads as a decoder writes them
//! (`window`), bands of rows queued for an encoder (`queue`), and a turned image's upright
//! bands (`turn`).

pub(in crate::image) mod queue;
pub(in crate::image) mod turn;
pub(in crate::image) mod window;
