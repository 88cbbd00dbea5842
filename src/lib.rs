//! certpilot: get and keep TLS certificates from ACME CAs by DNS-01 validation.
//!
//! Module map (see `STYLE.md` for the dependency rule):
//! - [`paths`], [`fsutil`]: where state lives; atomic writes.
//! - [`config`]: `certpilot.toml` and dnscontrol's `certs.json`.
//! - [`domain`]: pure logic: names, challenge records, renewal policy.
//! - [`cert`]: x509 inspection and the `certificates/<name>/` store.
//! - [`secrets`]: the OS keyring.
//! - [`solver`]: publishing challenge records (exec, manual).
//! - [`dns`]: zone discovery and propagation checks on every authoritative server.
//! - [`acmedns`]: the acme-dns client, credential import and the `acme-dns` solver.
//! - [`providers`]: the solvers of every DNS provider, built from a domain's mapping.
//! - [`transport`]: what the HTTP clients share.
//! - [`rfc2136`]: RFC 2136 dynamic updates signed with TSIG (the `rfc2136` solver).
//! - [`powerdns`]: the PowerDNS Authoritative HTTP API (the `powerdns` solver).
//! - [`server`]: the embedded acme-dns-compatible server.
//! - [`lock`]: per-certificate locks between concurrent runs.
//! - [`slots`]: process-wide bounds on concurrent work (hook processes).
//! - [`session`], [`ops`]: the application layer both front ends call: the session (paths,
//!   command-line overrides folded into the config once, keyring) and the operations.
//! - [`jobs`]: runs library work for the TUI and reports back as messages.
//! - [`acme`]: accounts and the issuance engine.
//! - [`inventory`]: what `list` and the dashboard show.
//! - [`tui`]: the terminal UI (the only module that draws).
//! - [`deploy`]: after an issuance: re-export to the configured target, run the deploy hook.
//! - [`sandbox`]: `certpilot sandbox`, the whole product on loopback with faults on demand.
//! - [`fuzz`]: invariants of every parser of outside input, for cargo fuzz and the tests.

pub mod acme;
pub mod acmedns;
pub mod cert;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod dns;
pub mod domain;
pub mod fsutil;
pub mod fuzz;
pub mod inventory;
pub mod jobs;
pub mod lock;
pub mod ops;
pub mod paths;
pub mod powerdns;
pub mod providers;
pub mod rfc2136;
pub mod sandbox;
pub mod secrets;
pub mod server;
pub mod session;
pub mod slots;
pub mod solver;
pub mod transport;
pub mod tui;
