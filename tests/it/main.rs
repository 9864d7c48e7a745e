//! The integration tests, one module per area, in one test binary so the
//! crate is linked once. Every module gets its tenant, temp dir, sample and
//! run from [`fixture`].

mod fixture;

mod adaptive;
mod auth;
mod cli;
mod completions;
mod counters;
mod crash;
mod docs;
mod faults;
mod fuzz_input;
mod halt;
mod hostile_input;
mod hostile_server;
mod interrupt;
mod lifecycle;
mod logging;
mod lookup;
mod man_page;
mod mock_api;
mod oauth;
mod oauth_hostile;
mod origins;
mod plan;
mod report;
mod retry_file;
mod run_record;
mod runner;
mod safety;
mod security;
mod spreadsheet;
mod terminal;
mod ticket;
mod undo;
mod verify;
