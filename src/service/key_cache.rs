//! Verified API keys, kept for a few seconds so a busy client's calls skip
//! the key's database lookup. An entry is found by the SHA-256 of the
//! presented key, which is the hash authentication computes anyway (one
//! hash per call) and equals the stored hash only for the right key, so a
//! hit is a verified key. Never longer than `ttl`: a key revoked through
//! this process is dropped at once, and through another replica it stops
//! working here within `ttl` (`--key-cache-secs`, README "Configuration").

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::auth::ApiKey;
use crate::domain::ids::KeyId;

/// Keys kept at most; past it the cache starts over (a burst of distinct
/// keys costs lookups, never memory).
const CAPACITY: usize = 4096;

/// The cache. `ttl` zero turns it off.
#[derive(Debug)]
pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<Vec<u8>, (ApiKey, Instant)>>,
}

impl KeyCache {
    pub fn new(ttl: Duration) -> Self {
        KeyCache {
            ttl,
            entries: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, (ApiKey, Instant)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The key whose hash is `hash`, if verified less than `ttl` ago.
    pub fn get(&self, hash: &[u8]) -> Option<ApiKey> {
        if self.ttl.is_zero() {
            return None;
        }
        let mut entries = self.lock();
        match entries.get(hash) {
            Some((key, at)) if at.elapsed() < self.ttl => Some(key.clone()),
            Some(_) => {
                entries.remove(hash);
                None
            }
            None => None,
        }
    }

    /// Keeps `key`, just verified (its `hash` is the presented key's).
    pub fn put(&self, key: &ApiKey) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key.hash.clone(), (key.clone(), Instant::now()));
    }

    /// Forgets `id` (revoked through this process).
    pub fn forget(&self, id: &KeyId) {
        self.lock().retain(|_, (key, _)| &key.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;
    use crate::domain::ids::OrgId;

    fn key(hash: u8) -> ApiKey {
        ApiKey {
            id: KeyId::generate(),
            org_id: OrgId::generate(),
            user_id: None,
            scopes: Vec::new(),
            superuser: false,
            prefix: "p".into(),
            hash: vec![hash; 32],
            created_at: Timestamp::now(),
            last_used_at: None,
            expires_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn hits_until_forgotten_or_expired() {
        let cache = KeyCache::new(Duration::from_secs(60));
        let k = key(1);
        assert!(cache.get(&k.hash).is_none());
        cache.put(&k);
        assert_eq!(cache.get(&k.hash).map(|c| c.id), Some(k.id.clone()));
        assert!(cache.get(&[2; 32]).is_none(), "another key's hash misses");
        cache.forget(&k.id);
        assert!(cache.get(&k.hash).is_none());

        let short = KeyCache::new(Duration::from_millis(1));
        short.put(&k);
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.get(&k.hash).is_none(), "expired entries miss");
        let off = KeyCache::new(Duration::ZERO);
        off.put(&k);
        assert!(off.get(&k.hash).is_none(), "ttl 0 turns it off");
    }
}
