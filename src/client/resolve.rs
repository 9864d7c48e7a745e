//! Lookups for one row: before an operation's request, the values the row
//! left empty (its `userId`, a delete's `tokenSerialNumber`) are found with
//! the catalog's lookups, through the same pacer, retries and token as every
//! other request. Answers are kept for the run, single-flight: rows with the
//! same email share one request even when they are in flight together, and a
//! failed lookup is not repeated (a 404 is final; a lookup that gave up after
//! its retries fails every row that needs it).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::OnceCell;

use super::{reply, AttemptLog, Client, Prepared};
use crate::input::{check_value, Checked};
use crate::ops::{Field, Lookup, Operation, Resolver};
use crate::outcome::{one_line, Attempted, Outcome};

/// A lookup's answer as the run remembers it: the parsed 200 body, or the
/// account of the failed request.
type Answer = Result<Value, Attempted>;

/// Where one key's answer lands, once, for every row that asks.
type Slot = Arc<OnceCell<Arc<Answer>>>;

/// Every lookup of the run, by lookup and lower-cased key.
#[derive(Default)]
pub(super) struct LookupCache {
    entries: Mutex<HashMap<(&'static str, Field, String), Slot>>,
}

impl LookupCache {
    fn slot(&self, lookup: &Lookup, key: &str) -> Slot {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .entry((lookup.name, lookup.key, key.to_lowercase()))
            .or_default()
            .clone()
    }
}

/// What the lookups did for one row.
pub(super) struct Resolution<'a> {
    /// The row with the looked-up values filled in (borrowed as it was when
    /// nothing needed looking up).
    pub row: Cow<'a, Checked>,
    pub resolved: Vec<(crate::ops::Field, String)>,
    /// Lookup requests this row sent itself (answers from the cache cost
    /// none).
    pub attempts: u32,
    last_status: Option<u16>,
}

impl Client {
    /// Fills in what the row left empty, in the operation's resolver order.
    /// `Err` is the row's account when a lookup failed.
    pub(super) async fn resolve<'a>(
        &self,
        op: &Operation,
        row: &'a Checked,
    ) -> Result<Resolution<'a>, Attempted> {
        let mut resolution = Resolution {
            row: Cow::Borrowed(row),
            resolved: Vec::new(),
            attempts: 0,
            last_status: None,
        };
        for (index, resolver) in op.resolvers.iter().enumerate() {
            if resolution.row.value(resolver.field).is_some() {
                continue;
            }
            // A stand-in the row left empty gives way to a later one for the
            // same field (`email`, else `username`, else the token's user).
            let later = op.resolvers[index + 1..]
                .iter()
                .any(|r| r.field == resolver.field);
            if later && resolution.row.value(resolver.lookup.key).is_none() {
                continue;
            }
            let found = self.resolve_one(resolver, &mut resolution).await;
            if let Err(mut failed) = found {
                // What earlier lookups found still belongs in the audit trail.
                failed.resolved = resolution.resolved;
                return Err(failed);
            }
        }
        Ok(resolution)
    }

    /// Dry run with lookups: resolves the row and stops there. The row is
    /// `valid` when every lookup found its value.
    pub async fn check_lookups(&self, op: &Operation, row: &Checked) -> Attempted {
        match self.resolve(op, row).await {
            Err(failed) => failed,
            Ok(resolution) => Attempted {
                outcome: Outcome::Valid,
                http_status: resolution.last_status,
                attempts: resolution.attempts,
                message: String::new(),
                detail: String::new(),
                auth_refused: false,
                unreachable: false,
                resolved: resolution.resolved,
                verified: String::new(),
                listed: Vec::new(),
                undo: None,
            },
        }
    }

    async fn resolve_one(
        &self,
        resolver: &Resolver,
        resolution: &mut Resolution<'_>,
    ) -> Result<(), Attempted> {
        let lookup = resolver.lookup;
        let Some(key) = resolution.row.value(lookup.key).map(str::to_owned) else {
            // Validation lets no such row through; say so rather than send.
            let message = format!(
                "no {} and no {} to look it up by",
                resolver.field, lookup.key
            );
            return Err(Attempted::failed_here(None, resolution.attempts, message));
        };
        let context = format!("looking up {} by {} {key}", resolver.field, lookup.key);
        let (answer, sent) = self.look_up(lookup, &key).await;
        resolution.attempts += sent;
        let answer = match answer.as_ref() {
            Ok(answer) => answer,
            Err(failed) => {
                let mut failed = failed.clone();
                failed.attempts = resolution.attempts;
                if failed.outcome != Outcome::NotAttempted {
                    failed.message = format!("{context}: {}", failed.message);
                }
                return Err(failed);
            }
        };
        resolution.last_status = Some(200);
        let value = found_value(resolver, answer, &resolution.row).map_err(|why| {
            Attempted::failed_here(Some(200), resolution.attempts, format!("{context}: {why}"))
        })?;
        resolution.row.to_mut().resolve(resolver.field, &value);
        resolution.resolved.push((resolver.field, value));
        Ok(())
    }

    /// The answer for `key`, from the cache or from one request shared by
    /// every row that asks meanwhile; with the requests this call sent.
    /// An answer a halt cut short is not kept: each row waiting on it then
    /// asks itself, finds the halt, sends nothing, and is `not_attempted`
    /// with the halt's reason rather than failed by another row's attempt.
    async fn look_up(&self, lookup: &'static Lookup, key: &str) -> (Arc<Answer>, u32) {
        let slot = self.lookups.slot(lookup, key);
        let mut sent = 0;
        let kept = slot
            .get_or_try_init(|| async {
                let (answer, attempts, halted) = self.send_lookup(lookup, key).await;
                sent = attempts;
                let answer = Arc::new(answer);
                if halted {
                    Err(answer)
                } else {
                    Ok(answer)
                }
            })
            .await;
        let answer = match kept {
            Ok(answer) => answer.clone(),
            Err(cut_short) => cut_short,
        };
        (answer, sent)
    }

    /// One lookup request, never from the cache: `--verify` needs the
    /// tenant's state after the change. The key goes in the path when the
    /// path names it, else in the JSON body. Returns the answer, the
    /// requests sent, and whether a halt cut it short.
    pub(super) async fn send_lookup(
        &self,
        lookup: &'static Lookup,
        key: &str,
    ) -> (Answer, u32, bool) {
        let in_path = format!("{{{}}}", lookup.key.wire_name());
        let body = (!lookup.path.contains(&in_path)).then(|| {
            let mut body = serde_json::Map::new();
            body.insert(lookup.key.wire_name().to_owned(), key.into());
            Value::Object(body).to_string()
        });
        let prepared = Prepared {
            method: lookup.method,
            url: self.url_with(lookup.path, |name| {
                (name == lookup.key.wire_name()).then_some(key)
            }),
            body,
            is_lookup: true,
        };
        let log = AttemptLog::default();
        let result = self.exchange(&prepared, &log).await;
        let attempts = log.attempts.load(Ordering::Relaxed);
        let halted = matches!(result, Err(super::Failure::Halted(_)));
        let answer = match result {
            Ok(success) => serde_json::from_str(&success.body).map_err(|_| {
                let message = format!(
                    "the tenant's answer is not JSON: {}",
                    one_line(&success.body, 120)
                );
                Attempted::failed_here(Some(success.status), attempts, message)
            }),
            Err(failure) => Err(reply::conclude_failure(
                &|status| {
                    let oauth = self.tokens.kind() == crate::auth::TokenKind::OAuth;
                    reply::explained(
                        lookup.explain(status),
                        status,
                        oauth.then_some(lookup.permission),
                    )
                },
                lookup.method,
                &failure,
                &log,
            )),
        };
        (answer, attempts, halted)
    }
}

/// The value a resolver wants out of a lookup's answer, checked like input:
/// a tenant's answer cannot put anything into a URL path that a row could
/// not.
fn found_value(resolver: &Resolver, answer: &Value, row: &Checked) -> Result<String, String> {
    let value = resolver.lookup.pick(answer, |f| row.value(f))?;
    check_value(resolver.field, &value)
        .map(str::to_owned)
        .map_err(|problem| format!("the tenant's {} is unusable: {problem}", resolver.field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{check_row, ColumnMap, RawRow};
    use crate::ops::{DS100_DELETE, TOKEN_BY_DEVICE, USER_BY_EMAIL};
    use serde_json::json;

    fn row() -> Checked {
        let header = csv::StringRecord::from(vec!["email", "deviceSerialNumber"]);
        let columns = ColumnMap::build(std::path::Path::new("t.csv"), header, &DS100_DELETE);
        let raw = RawRow {
            line: 2,
            record: csv::StringRecord::from(vec!["a@acme.example", "140100080"]),
        };
        check_row(&DS100_DELETE, &columns.unwrap(), &raw)
    }

    #[test]
    fn hostile_answers_are_refused_like_hostile_input() {
        let answer = json!({"id": "../../admin"});
        let err = found_value(&USER_BY_EMAIL, &answer, &row()).unwrap_err();
        assert!(err.contains("the tenant's userId is unusable"), "{err}");
        let mut owner = row();
        owner.resolve(
            crate::ops::Field::UserId,
            "87927fb7-e185-4c33-c7e3-8e077675973c",
        );
        let answer = json!([{"userId": "87927fb7-e185-4c33-c7e3-8e077675973c",
                             "tokenSerialNumber": "0140/../x"}]);
        let err = found_value(&TOKEN_BY_DEVICE, &answer, &owner).unwrap_err();
        assert!(err.contains("letters and digits only"), "{err}");
    }

    /// A tenant that answers every request 503 with a long Retry-After and
    /// reports each request it receives.
    async fn unavailable_tenant() -> (u16, tokio::sync::mpsc::UnboundedReceiver<()>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (asked, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = vec![0u8; 8192];
                if socket.read(&mut request).await.unwrap_or(0) > 0 {
                    let _ = asked.send(());
                    let answer = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 600\r\n\
                                  Content-Length: 0\r\nConnection: close\r\n\r\n";
                    let _ = socket.write_all(answer.as_bytes()).await;
                }
            }
        });
        (port, received)
    }

    #[tokio::test]
    async fn rows_waiting_on_a_lookup_a_halt_cut_short_are_not_attempted() {
        use crate::safety::{Halt, HaltReason};
        let (port, mut received) = unavailable_tenant().await;
        let halt = Arc::new(Halt::default());
        let config = super::super::ClientConfig {
            base_url: reqwest::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
            timeout: std::time::Duration::from_secs(30),
            rate: super::super::Rate::Unlimited,
            retry: super::super::RetryPolicy::default(),
            concurrency: 2,
            proxy: None,
        };
        let tokens = crate::auth::TokenProvider::fixed(crate::secret::Secret::new("t"));
        let client = Arc::new(Client::new(&config, Arc::new(tokens), halt.clone()).unwrap());
        let resolve = |client: Arc<Client>| {
            tokio::spawn(async move { client.resolve(&DS100_DELETE, &row()).await.err() })
        };
        let first = resolve(client.clone());
        received
            .recv()
            .await
            .expect("the first row's lookup was sent");
        let waiting = resolve(client.clone());
        tokio::task::yield_now().await;
        halt.stop(HaltReason::Stopped("5 rows failed".into()));
        let first = first.await.unwrap().expect("the lookup failed");
        assert_eq!(first.outcome, Outcome::Failed, "{first:?}");
        assert_eq!(first.attempts, 1);
        let waiting = waiting.await.unwrap().expect("the lookup failed");
        assert_eq!(waiting.outcome, Outcome::NotAttempted, "{waiting:?}");
        assert_eq!(waiting.attempts, 0);
        assert_eq!(
            waiting.message,
            "not attempted: the run stopped (5 rows failed)"
        );
        assert!(received.try_recv().is_err(), "nothing sent after the halt");
    }

    #[test]
    fn the_cache_shares_one_slot_per_key_ignoring_case() {
        let cache = LookupCache::default();
        let a = cache.slot(&crate::ops::USERS_LOOKUP, "Alice@Acme.example");
        let b = cache.slot(&crate::ops::USERS_LOOKUP, "alice@acme.example");
        let other = cache.slot(&crate::ops::DS100_LOOKUP, "alice@acme.example");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
    }
}
