//! securid-bulk: bulk operations against the RSA SecurID Cloud Administration API.
//!
//! The binary is a thin shell over this library; ARCHITECTURE.md describes
//! how a row travels through these modules and what each one owns.

pub mod approval;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod identity;
pub mod input;
pub mod logging;
#[cfg(feature = "mock")]
pub mod mock;
pub mod net;
pub mod ops;
pub mod outcome;
pub mod output;
pub mod progress;
pub mod runner;
pub mod safety;
pub mod secret;
pub mod terminal;
