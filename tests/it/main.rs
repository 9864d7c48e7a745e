//! The integration tests, one module per area, in one test binary so the
//! crate is linked once. Every module gets its tenant, temp dir, sample and
//! run from [`fixture`].

mod fixture;

mod adaptive;
mod auth;
mod cli;
mod faults;
mod fuzz_input;
mod halt;
mod hostile_input;
mod hostile_server;
mod interrupt;
mod lifecycle;
mod lookup;
mod mock_api;
mod oauth;
mod origins;
mod report;
mod run_record;
mod runner;
mod safety;
mod security;
mod spreadsheet;
mod ticket;
mod verify;
