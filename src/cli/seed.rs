//! `oauth-registry seed`: demo and benchmark data. Creates (or reuses) an
//! organization, prints a new admin API key once on stdout (bound to the
//! first owner, superuser), then clients and tokens spread over owners,
//! scopes, kinds, statuses and a year of dates. Tokens go in through the
//! store's bulk load (one transaction, fed batch by batch while the next is
//! generated), with a progress bar; the same `--rng-seed` gives the same data
//! apart from ids and secrets. A second run on an organization that already
//! has data only prints a new key, unless `--add` is given.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::domain::Timestamp;
use crate::domain::auth::Permission;
use crate::domain::ids::{ClientId, OrgId, TokenId};
use crate::domain::model::{Client, Token, TokenKind};
use crate::domain::oauth::{GrantType, RedirectUri, Scope};
use crate::domain::query::{ClientFilter, TokenFilter};
use crate::domain::secret::ExposeSecret;
use crate::domain::secret::{self, NewSecret, SecretKind};
use crate::store::{NewTokenRow, StoreOptions};

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Organization name (created if missing).
    #[arg(long, default_value = "demo")]
    pub org: String,
    /// Number of clients.
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// Number of tokens.
    #[arg(long, default_value_t = 1000)]
    pub tokens: usize,
    /// Number of distinct token owners (user-00001, user-00002, ...).
    #[arg(long, default_value_t = 50)]
    pub owners: usize,
    /// Tokens per transaction.
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    /// Seed for the pseudo-random spread of names, owners, scopes and dates.
    #[arg(long, default_value_t = 42)]
    pub rng_seed: u64,
    /// Add clients and tokens even if the organization already has some
    /// (by default a second run only prints a new key).
    #[arg(long)]
    pub add: bool,
}

const SCOPES: [&str; 6] = [
    "read",
    "write",
    "openid",
    "profile",
    "email",
    "offline_access",
];
const WORDS: [&str; 12] = [
    "ci", "deploy", "mobile", "web", "billing", "sync", "report", "backup", "cli", "agent", "etl",
    "my",
];
const APPS: [&str; 6] = ["app", "bot", "job", "tool", "service", "client"];
const DAY_US: i64 = 86_400_000_000;

pub fn owner(i: usize) -> String {
    format!("user-{:05}", i + 1)
}

pub async fn run(database_url: &str, opts: &StoreOptions, args: &SeedArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.clients >= 1, "--clients must be at least 1");
    anyhow::ensure!(args.owners >= 1, "--owners must be at least 1");
    anyhow::ensure!(args.batch >= 1, "--batch must be at least 1");
    let registry = super::open(database_url, opts).await?;
    let store = registry.store().clone();
    let org = match registry.find_org(&args.org).await {
        Ok(org) => org,
        Err(_) => registry.create_org(&args.org).await?,
    };
    let key = registry
        .create_api_key(&org.id, Some(owner(0)), vec![Permission::Admin], true, None)
        .await?;
    // Only this organization is counted (others may be large).
    let held_clients = store
        .count_clients(&org.id, &ClientFilter::default())
        .await?;
    let held_tokens = store
        .count_tokens(&org.id, &TokenFilter::default(), Timestamp::now())
        .await?;
    if (held_clients > 0 || held_tokens > 0) && !args.add {
        // Idempotent: running the tour twice must not double its data.
        eprintln!(
            "organization {:?} ({}) already holds {held_clients} clients and {held_tokens} tokens; added none (pass --add to add more)",
            org.name, org.id
        );
        eprintln!(
            "new admin API key {} (user {}, superuser; shown once):",
            key.key.id,
            owner(0)
        );
        println!("{}", key.secret.expose_secret());
        return Ok(());
    }

    let mut rng = StdRng::seed_from_u64(args.rng_seed);
    let now = Timestamp::now();
    let start = Instant::now();

    let mut clients = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        let created = Timestamp::from_micros(now.micros() - rng.random_range(300..400) * DAY_US);
        let public = i % 4 == 3;
        let secret = (!public).then(|| NewSecret::generate(SecretKind::Client));
        let client = Client {
            id: ClientId::generate(),
            org_id: org.id.clone(),
            name: format!(
                "{} {} {}",
                WORDS[i % WORDS.len()],
                APPS[i % APPS.len()],
                i + 1
            ),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            response_types: vec!["code".into()],
            scopes: SCOPES.iter().map(|s| scope(s)).collect(),
            redirect_uris: vec![RedirectUri::from_trusted(format!(
                "https://app{}.example.com/callback",
                i + 1
            ))],
            public,
            access_token_duration: 86_400,
            refresh_token_duration: 864_000,
            secret_prefix: secret.as_ref().map(|s| s.prefix.clone()),
            created_at: created,
            updated_at: created,
            last_used: Some(now),
        };
        store
            .insert_client(&client, secret.as_ref().map(|s| s.hash.as_slice()))
            .await?;
        clients.push(client);
    }

    let bar = ProgressBar::new(args.tokens as u64).with_style(
        ProgressStyle::with_template("{spinner} tokens {bar:40} {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Tokens are generated on a blocking thread while the store writes the
    // previous batch; the bounded channel keeps at most a few batches queued.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let generator = {
        let (bar, org_id, owners, tokens, batch_size) = (
            bar.clone(),
            org.id.clone(),
            args.owners,
            args.tokens,
            args.batch,
        );
        let clients = clients.clone();
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(batch_size.min(tokens));
            for i in 0..tokens {
                batch.push(token(&mut rng, &org_id, &clients, owners, now, i, tokens));
                if batch.len() == batch_size || i + 1 == tokens {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                    let n = full.len() as u64;
                    if tx.blocking_send(full).is_err() {
                        return; // the load failed; its error is reported below
                    }
                    bar.inc(n);
                }
            }
        })
    };
    let loaded = store.bulk_load_tokens(rx).await;
    generator.await?;
    loaded?;
    bar.finish_and_clear();
    eprintln!(
        "seeded organization {:?} ({}): {} clients, {} tokens over {} owners in {:.1}s",
        org.name,
        org.id,
        clients.len(),
        args.tokens,
        args.owners,
        start.elapsed().as_secs_f64()
    );
    eprintln!(
        "admin API key {} (user {}, superuser; shown once):",
        key.key.id,
        owner(0)
    );
    println!("{}", key.secret.expose_secret());
    Ok(())
}

/// Token `i` of `total`, pseudo-random apart from its creation time: those
/// rise evenly over the past year (with jitter inside each step), so ids,
/// which are time-ordered, arrive in order and append to the primary key.
fn token(
    rng: &mut StdRng,
    org_id: &OrgId,
    clients: &[Client],
    owners: usize,
    now: Timestamp,
    i: usize,
    total: usize,
) -> NewTokenRow {
    let client = &clients[rng.random_range(0..clients.len())];
    let step = (365 * DAY_US / total.max(1) as i64).max(1);
    let created = now.micros() - 365 * DAY_US + i as i64 * step + rng.random_range(0..step);
    let lifetime = [1, 30, 365, 730][rng.random_range(0..4)] * DAY_US;
    let revoked = rng
        .random_bool(0.1)
        .then(|| created + rng.random_range(0..DAY_US));
    let updated = revoked
        .unwrap_or(created + rng.random_range(0..DAY_US))
        .min(now.micros());
    let mut scopes = vec![scope(SCOPES[rng.random_range(0..2)])];
    for s in &SCOPES[2..] {
        if rng.random_bool(0.3) {
            scopes.push(scope(s));
        }
    }
    let user = owner(rng.random_range(0..owners));
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        (created / 1_000_000) as u64,
        ((created % 1_000_000) * 1000) as u32,
    );
    let mut secret_bytes = [0u8; 24];
    rng.fill_bytes(&mut secret_bytes);
    let plain = format!(
        "oat_{}",
        secret_bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    NewTokenRow {
        token: Token {
            id: TokenId::from_trusted(uuid::Uuid::new_v7(ts).to_string()),
            org_id: org_id.clone(),
            client_id: Some(client.id.clone()),
            subject: user.clone(),
            user_id: user,
            audience: "https://api.example.com".into(),
            scopes,
            name: format!(
                "{}-{}-{}",
                WORDS[rng.random_range(0..WORDS.len())],
                APPS[rng.random_range(0..APPS.len())],
                i + 1
            ),
            description: String::new(),
            default_role: "view".into(),
            pkce: None,
            redirect_uri: Some(client.redirect_uris[0].clone()),
            kind: if rng.random_bool(0.8) {
                TokenKind::Access
            } else {
                TokenKind::Refresh
            },
            secret_prefix: secret::prefix_of(&plain).to_owned(),
            expires_at: Timestamp::from_micros(created + lifetime),
            created_at: Timestamp::from_micros(created),
            updated_at: Timestamp::from_micros(updated),
            revoked_at: revoked.map(Timestamp::from_micros),
        },
        secret_hash: secret::hash(&plain),
    }
}

/// One of the fixed `SCOPES`, all valid scope tokens.
fn scope(s: &str) -> Scope {
    Scope::from_trusted(s.to_owned())
}
