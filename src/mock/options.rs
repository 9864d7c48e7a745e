//! The mock tenant's options: the flags of `securid-bulk mock`, also built
//! directly by tests through [`MockOptions::sample`] and struct update syntax.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use std::time::Duration;

use super::hostile::{HostileMode, HostileOAuth};
use super::quota::{parse_schedule, QuotaModel, QuotaSpec};
use crate::secret::Secret;

/// The tenant shipped with the crate, used when neither `--state` nor
/// `--users` is given.
pub(crate) const SAMPLE_TENANT: &str = include_str!("../../samples/tenant.json");

/// Default for `--slow-ms`: long enough to outlast any sane client timeout.
pub const DEFAULT_SLOW_MS: u64 = 60_000;

/// Default for `--purge-after`: seven days.
pub const PURGE_AFTER_SECS: u64 = 7 * 86_400;

/// Default for `--redirect-to`: a host that does not exist.
pub const DEFAULT_REDIRECT_TO: &str = "https://elsewhere.invalid";

/// Options of the simulated tenant (`securid-bulk mock [options]`).
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct MockOptions {
    /// Address to listen on. The default port 0 picks a free port (the URL is
    /// printed); pass e.g. 127.0.0.1:8080 for a fixed one. Only loopback
    /// addresses unless --listen-public is given.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// Allow --listen on an address other machines can reach. The mock
    /// speaks plain HTTP, stats endpoint included; a warning is printed on
    /// every start.
    #[arg(long)]
    pub listen_public: bool,

    /// Tenant seed file (JSON: users, ds100 credentials, sidTokens; see
    /// samples/tenant.json). Default: the built-in sample tenant.
    #[arg(long, value_name = "FILE", conflicts_with = "users")]
    pub state: Option<PathBuf>,

    /// Generate a tenant of N users instead (deterministic for a given --seed).
    #[arg(long, value_name = "N")]
    pub users: Option<usize>,

    /// Seed for --users: the same seed gives the same tenant.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,

    /// Tenant-wide quota in requests per second; beyond it the answer is 429.
    /// 0 means no quota.
    #[arg(long, value_name = "R", default_value_t = 0.0, value_parser = parse_rate)]
    pub rate: f64,

    /// Requests the token bucket lets through at once after a quiet spell,
    /// 1 or more (0: one second's worth of --rate).
    #[arg(long, value_name = "B", default_value_t = 0)]
    pub burst: u32,

    /// Shape of the quota.
    #[arg(long, value_enum, value_name = "MODEL", default_value_t = QuotaModel::TokenBucket)]
    pub quota_model: QuotaModel,

    /// Window length in seconds of the fixed-window and sliding-window
    /// models (they admit --rate × W requests per window).
    #[arg(long, value_name = "W", default_value_t = 1.0, value_parser = parse_window)]
    pub quota_window: f64,

    /// Share (0 to below 1) of the quota taken by another client sending
    /// evenly, so this client has (1 − P) × --rate.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_share)]
    pub background_share: f64,

    /// Change the quota mid-run: TIME:RATE entries, TIME in seconds since
    /// the tenant's first request, e.g. `10s:50,20s:100` halves a quota of
    /// 100 after 10 s and restores it after 20 s.
    #[arg(long, value_name = "SCHEDULE", value_parser = parse_schedule_text)]
    pub quota_schedule: Option<String>,

    /// Form of the Retry-After header on a 429.
    #[arg(long, value_enum, default_value_t = RetryAfterForm::Seconds)]
    pub retry_after: RetryAfterForm,

    /// Probability (0 to 1) of answering 500 "Unable to Enable/Disable a
    /// hardware token" instead of handling the request.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    pub fail_rate: f64,

    /// Probability (0 to 1) of answering a change 200 without applying it
    /// (a tenant that loses writes; what --verify is for).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    pub drop_changes: f64,

    /// Probability (0 to 1) of dropping the connection without any answer.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    pub reset_rate: f64,

    /// Delay added to every tenant answer, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,

    /// Random extra delay of 0 to N milliseconds on top of --latency-ms.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub jitter_ms: u64,

    /// Probability (0 to 1) of answering only after --slow-ms.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_probability)]
    pub slow_rate: f64,

    /// Delay of a slow answer, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SLOW_MS)]
    pub slow_ms: u64,

    /// Answer every tenant request in a way the vendor's pages never promise
    /// (HTML with 200, a cut-off or 2 GiB body, a 429 with a negative, huge
    /// or garbage Retry-After, a redirect to --redirect-to).
    #[arg(long, value_enum, value_name = "MODE")]
    pub hostile: Option<HostileMode>,

    /// Answer as an authorization server the client must not trust: tokens
    /// that live for ever, a 150 MiB token answer or discovery document, a
    /// slow token endpoint, a discovery document naming another issuer or
    /// a token endpoint on another host. For the tests, which start the
    /// tenant in process: not a command-line flag.
    #[arg(skip)]
    pub hostile_oauth: Option<HostileOAuth>,

    /// Where `--hostile redirect-offhost` sends the client (the request's
    /// path is appended).
    #[arg(long, value_name = "URL", default_value = DEFAULT_REDIRECT_TO)]
    pub redirect_to: String,

    /// Seed of every random fault draw, for repeatable runs (default: random).
    #[arg(long, value_name = "S")]
    pub fault_seed: Option<u64>,

    /// Generate an RSA-2048 admin API key file here (mode 0600), then accept
    /// JWTs signed with it. Its adminRestApiUrl points at this mock.
    #[arg(long, value_name = "FILE", conflicts_with = "key_file")]
    pub write_key_file: Option<PathBuf>,

    /// Accept JWTs signed with this existing admin API key file.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// Generate an OAuth API client into DIR (its private key as a JWK file,
    /// mode 0600, and client.json with its client ID and issuer), then act
    /// as its authorization server under /oauth.
    #[arg(long, value_name = "DIR")]
    pub write_oauth_client: Option<PathBuf>,

    /// The key type of the client --write-oauth-client generates.
    #[arg(long, value_enum, default_value_t = OAuthKeyType::Rsa)]
    pub key_type: OAuthKeyType,

    /// Accept this existing OAuth client (with --oauth-client-key): its ID.
    #[arg(long, value_name = "ID", requires = "oauth_client_key")]
    pub oauth_client_id: Option<String>,

    /// Accept this existing OAuth client (with --oauth-client-id): its key
    /// file (a JWK, private or public, or a PKCS#8 PEM private key).
    #[arg(long, value_name = "FILE", requires = "oauth_client_id")]
    pub oauth_client_key: Option<PathBuf>,

    /// Lifetime of the access tokens the authorization server issues, in
    /// seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub access_token_lifetime: u64,

    /// The permissions granted to the OAuth client, separated by spaces
    /// [default: every permission the tenant knows].
    #[arg(long, value_name = "\"PERMISSION ...\"")]
    pub oauth_permissions: Option<String>,

    /// Answer the first N token requests with 503, to try a client's
    /// retries.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub token_endpoint_failures: u32,

    /// Refuse every token request (400 invalid_client) once N access tokens
    /// were issued, as a tenant does when a client is deleted mid-run.
    #[arg(long, value_name = "N")]
    pub token_endpoint_refuse_after: Option<u64>,

    /// Publish no OpenID discovery document (404), so clients fall back to
    /// <issuer>/token.
    #[arg(long)]
    pub no_discovery: bool,

    /// Seconds a user marked deleted stays pending before the tenant purges
    /// it (the vendor's seven days); 0 purges at the next request.
    #[arg(long, value_name = "SECS", default_value_t = PURGE_AFTER_SECS)]
    pub purge_after: u64,

    /// Write one CSV per operation into DIR, each row of which succeeds
    /// against this tenant, then exit without serving.
    #[arg(long, value_name = "DIR")]
    pub export_csv: Option<PathBuf>,

    /// The static bearer token to accept (default: a random one per start,
    /// printed at startup).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SECURID_MOCK_TOKEN",
        hide_env_values = true
    )]
    pub static_token: Option<Secret>,
}

/// The key type of a generated OAuth client.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthKeyType {
    /// RSA-2048, RS256 assertions.
    Rsa,
    /// EC P-256, ES256 assertions.
    Ec,
}

/// How a 429 tells the client when to come back.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfterForm {
    /// Whole seconds, rounded up, at least 1: `Retry-After: 2`
    Seconds,
    /// Exact seconds with milliseconds: `Retry-After: 0.010`
    Exact,
    /// An HTTP date, rounded up to the whole second:
    /// `Retry-After: Sun, 06 Nov 1994 08:49:37 GMT`
    HttpDate,
    /// No header: the client must back off on its own.
    Absent,
}

impl MockOptions {
    /// The built-in sample tenant on 127.0.0.1 with a free port: no quota,
    /// no faults, no key file, a random static token.
    pub fn sample() -> Self {
        MockOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            listen_public: false,
            state: None,
            users: None,
            seed: 1,
            rate: 0.0,
            burst: 0,
            quota_model: QuotaModel::TokenBucket,
            quota_window: 1.0,
            background_share: 0.0,
            quota_schedule: None,
            retry_after: RetryAfterForm::Seconds,
            fail_rate: 0.0,
            drop_changes: 0.0,
            reset_rate: 0.0,
            latency_ms: 0,
            jitter_ms: 0,
            slow_rate: 0.0,
            slow_ms: DEFAULT_SLOW_MS,
            hostile: None,
            hostile_oauth: None,
            redirect_to: DEFAULT_REDIRECT_TO.to_owned(),
            fault_seed: None,
            write_key_file: None,
            key_file: None,
            write_oauth_client: None,
            key_type: OAuthKeyType::Rsa,
            oauth_client_id: None,
            oauth_client_key: None,
            access_token_lifetime: 1800,
            oauth_permissions: None,
            token_endpoint_failures: 0,
            token_endpoint_refuse_after: None,
            no_discovery: false,
            purge_after: PURGE_AFTER_SECS,
            export_csv: None,
            static_token: None,
        }
    }

    /// The quota these options describe (used when --rate is more than 0).
    pub(crate) fn quota_spec(&self) -> QuotaSpec {
        QuotaSpec {
            model: self.quota_model,
            rate: self.rate,
            burst: self.burst,
            window: Duration::from_secs_f64(self.quota_window),
            background_share: self.background_share,
            schedule: self
                .quota_schedule
                .as_deref()
                .and_then(|text| parse_schedule(text).ok())
                .unwrap_or_default(),
            window_phase: Duration::ZERO,
        }
    }

    /// Checks what clap checks, for options built in code.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("--fail-rate", self.fail_rate),
            ("--drop-changes", self.drop_changes),
            ("--reset-rate", self.reset_rate),
            ("--slow-rate", self.slow_rate),
        ] {
            check_probability(p).map_err(|why| format!("{name} {p}: {why}"))?;
        }
        check_rate(self.rate).map_err(|why| format!("--rate {}: {why}", self.rate))?;
        check_window(self.quota_window)
            .map_err(|why| format!("--quota-window {}: {why}", self.quota_window))?;
        check_share(self.background_share)
            .map_err(|why| format!("--background-share {}: {why}", self.background_share))?;
        if let Some(text) = &self.quota_schedule {
            parse_schedule(text).map_err(|why| format!("--quota-schedule: {why}"))?;
        }
        if !self.listen.ip().is_loopback() && !self.listen_public {
            return Err(format!(
                "--listen {}: not a loopback address; the mock serves plain HTTP, its stats included, to anyone who can reach it; listen on 127.0.0.1, or add --listen-public to serve the network on purpose",
                self.listen
            ));
        }
        if self.state.is_some() && self.users.is_some() {
            return Err("--state and --users cannot be used together".into());
        }
        if self.key_file.is_some() && self.write_key_file.is_some() {
            return Err("--key-file and --write-key-file cannot be used together".into());
        }
        if self.oauth_client_id.is_some() != self.oauth_client_key.is_some() {
            return Err("--oauth-client-id and --oauth-client-key go together".into());
        }
        if self.write_oauth_client.is_some() && self.oauth_client_id.is_some() {
            return Err(
                "--write-oauth-client and --oauth-client-id cannot be used together".into(),
            );
        }
        if self.access_token_lifetime == 0 {
            return Err("--access-token-lifetime must be at least 1 second".into());
        }
        if self.static_token.as_ref().is_some_and(Secret::is_empty) {
            return Err("--static-token must not be empty".into());
        }
        Ok(())
    }
}

fn parse_probability(text: &str) -> Result<f64, String> {
    let p: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    check_probability(p).map(|()| p)
}

fn check_probability(p: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err("a probability must be between 0 and 1".into())
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let r: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    check_rate(r).map(|()| r)
}

fn check_rate(r: f64) -> Result<(), String> {
    if r.is_finite() && r >= 0.0 {
        Ok(())
    } else {
        Err("a rate must be a finite number, 0 or more".into())
    }
}

fn parse_window(text: &str) -> Result<f64, String> {
    let w: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    check_window(w).map(|()| w)
}

fn check_window(w: f64) -> Result<(), String> {
    if w.is_finite() && (0.001..=3600.0).contains(&w) {
        Ok(())
    } else {
        Err("a window must be between 0.001 and 3600 seconds".into())
    }
}

fn parse_share(text: &str) -> Result<f64, String> {
    let p: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    check_share(p).map(|()| p)
}

fn check_share(p: f64) -> Result<(), String> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err("a share must be 0 or more and below 1".into())
    }
}

fn parse_schedule_text(text: &str) -> Result<String, String> {
    parse_schedule(text).map(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        opts: MockOptions,
    }

    #[test]
    fn clap_defaults_match_sample() {
        let cli = Cli::try_parse_from(["mock"]).unwrap();
        // The env variable would change static_token; it is unset in tests.
        assert_eq!(cli.opts, MockOptions::sample());
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "mock",
            "--users",
            "20",
            "--seed",
            "7",
            "--rate",
            "5",
            "--burst",
            "2",
            "--retry-after",
            "http-date",
            "--quota-model",
            "sliding-window",
            "--quota-window",
            "2.5",
            "--background-share",
            "0.3",
            "--quota-schedule",
            "10s:2,20s:5",
            "--fail-rate",
            "0.1",
            "--fault-seed",
            "3",
            "--static-token",
            "abc",
        ])
        .unwrap();
        assert_eq!(cli.opts.users, Some(20));
        assert_eq!(cli.opts.retry_after, RetryAfterForm::HttpDate);
        let quota = cli.opts.quota_spec();
        assert_eq!(quota.model, QuotaModel::SlidingWindow);
        assert_eq!(quota.window, Duration::from_millis(2500));
        assert_eq!(quota.background_share, 0.3);
        assert_eq!(quota.schedule.len(), 2);
        assert_eq!(
            cli.opts.static_token.as_ref().map(Secret::expose),
            Some("abc")
        );
        // Debug output (logs, panics) never shows the token.
        assert!(!format!("{:?}", cli.opts).contains("abc"));
        assert!(cli.opts.validate().is_ok());
    }

    #[test]
    fn hostile_modes_parse_by_their_documented_names() {
        for (name, mode) in [
            ("html-200", HostileMode::Html200),
            ("truncated", HostileMode::Truncated),
            ("huge-length", HostileMode::HugeLength),
            ("retry-after-negative", HostileMode::RetryAfterNegative),
            ("retry-after-huge", HostileMode::RetryAfterHuge),
            ("retry-after-garbage", HostileMode::RetryAfterGarbage),
            ("redirect-offhost", HostileMode::RedirectOffhost),
        ] {
            let cli = Cli::try_parse_from(["mock", "--hostile", name]).unwrap();
            assert_eq!(cli.opts.hostile, Some(mode), "{name}");
        }
        assert!(Cli::try_parse_from(["mock", "--hostile", "html"]).is_err());
    }

    #[test]
    fn bad_probabilities_and_conflicts_are_refused() {
        assert!(Cli::try_parse_from(["mock", "--fail-rate", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["mock", "--background-share", "1"]).is_err());
        assert!(Cli::try_parse_from(["mock", "--quota-window", "0"]).is_err());
        assert!(Cli::try_parse_from(["mock", "--quota-schedule", "10s"]).is_err());
        assert!(Cli::try_parse_from(["mock", "--state", "x", "--users", "3"]).is_err());
        let opts = MockOptions {
            reset_rate: -0.1,
            ..MockOptions::sample()
        };
        assert!(opts.validate().unwrap_err().contains("--reset-rate"));
    }
}
