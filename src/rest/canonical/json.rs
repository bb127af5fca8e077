//! The canonical API's bodies, serialized straight from the gRPC messages
//! into the response: the protobuf JSON mapping as pbjson writes it (fields
//! at their proto3 default left out, 64-bit integers as strings, enums by
//! name), timestamps as grpcurl prints them (UTC, `Z`, 0, 3, 6 or 9
//! fractional digits) and keys in byte order. That is byte for byte what
//! the former path wrote (pbjson into a `serde_json::Value`, whose map
//! sorts keys, then every timestamp parsed and formatted again), without
//! building and walking the tree.
//!
//! Each message is destructured without `..`, so a field added to the
//! protos does not compile until it is written here too.

use pbjson_types::{Duration, Empty, Timestamp};
use serde::ser::{Error as _, SerializeMap};
use serde::{Serialize, Serializer};

use crate::grpc::pb;
use time::Time;

/// A message as the canonical API writes it.
pub(super) struct Out<'a, T>(pub &'a T);

/// One message's fields, each left out at its proto3 default. Keys must
/// come in byte order (checked in debug builds).
struct Fields<M> {
    map: M,
    last: &'static str,
}

impl<M: SerializeMap> Fields<M> {
    fn start<S: Serializer<SerializeMap = M>>(s: S) -> Result<Self, S::Error> {
        Ok(Fields {
            map: s.serialize_map(None)?,
            last: "",
        })
    }

    fn put<V: Serialize + ?Sized>(&mut self, key: &'static str, v: &V) -> Result<(), M::Error> {
        debug_assert!(self.last < key, "{key} written after {}", self.last);
        self.last = key;
        self.map.serialize_entry(key, v)
    }

    fn text(&mut self, key: &'static str, v: &str) -> Result<(), M::Error> {
        if v.is_empty() {
            Ok(())
        } else {
            self.put(key, v)
        }
    }

    fn texts(&mut self, key: &'static str, v: &[String]) -> Result<(), M::Error> {
        if v.is_empty() {
            Ok(())
        } else {
            self.put(key, v)
        }
    }

    fn flag(&mut self, key: &'static str, v: bool) -> Result<(), M::Error> {
        if v { self.put(key, &true) } else { Ok(()) }
    }

    /// An `int64`, written as a decimal string.
    fn int64(&mut self, key: &'static str, v: i64) -> Result<(), M::Error> {
        if v == 0 {
            Ok(())
        } else {
            self.put(key, &Decimal(v))
        }
    }

    /// An `optional int64`: written when set, even to 0.
    fn opt_int64(&mut self, key: &'static str, v: Option<i64>) -> Result<(), M::Error> {
        match v {
            Some(v) => self.put(key, &Decimal(v)),
            None => Ok(()),
        }
    }

    /// An enum field, by the value's name; a number the enum lacks fails
    /// the response, as pbjson does.
    fn enumeration<E>(&mut self, key: &'static str, v: i32) -> Result<(), M::Error>
    where
        E: TryFrom<i32> + Serialize,
    {
        if v == 0 {
            return Ok(());
        }
        let e = E::try_from(v).map_err(|_| M::Error::custom(format!("Invalid variant {v}")))?;
        self.put(key, &e)
    }

    fn time(&mut self, key: &'static str, v: Option<&Timestamp>) -> Result<(), M::Error> {
        match v {
            Some(t) => self.put(key, &Time(t)),
            None => Ok(()),
        }
    }

    /// A duration, as pbjson writes it (`"86400s"`).
    fn duration(&mut self, key: &'static str, v: Option<&Duration>) -> Result<(), M::Error> {
        match v {
            Some(d) => self.put(key, d),
            None => Ok(()),
        }
    }

    fn message<T>(&mut self, key: &'static str, v: Option<&T>) -> Result<(), M::Error>
    where
        for<'a> Out<'a, T>: Serialize,
    {
        match v {
            Some(m) => self.put(key, &Out(m)),
            None => Ok(()),
        }
    }

    fn messages<T>(&mut self, key: &'static str, v: &[T]) -> Result<(), M::Error>
    where
        for<'a> Out<'a, T>: Serialize,
    {
        if v.is_empty() {
            Ok(())
        } else {
            self.put(key, &Seq(v))
        }
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.map.end()
    }
}

/// A repeated message field.
struct Seq<'a, T>(&'a [T]);

impl<T> Serialize for Seq<'_, T>
where
    for<'a> Out<'a, T>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Out))
    }
}

/// An `int64` as proto3 JSON writes it: a decimal string.
struct Decimal(i64);

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl Serialize for Out<'_, pb::Token> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pb::Token {
            id,
            client_id,
            user_id,
            audience,
            subject,
            scopes,
            name,
            description,
            default_role,
            code_challenge,
            code_challenge_method,
            redirect_uri,
            kind,
            status,
            secret_prefix,
            expire_time,
            create_time,
            update_time,
            revoke_time,
            etag,
        } = self.0;
        let mut f = Fields::start(s)?;
        f.text("audience", audience)?;
        f.text("clientId", client_id)?;
        f.text("codeChallenge", code_challenge)?;
        f.enumeration::<pb::CodeChallengeMethod>("codeChallengeMethod", *code_challenge_method)?;
        f.time("createTime", create_time.as_ref())?;
        f.text("defaultRole", default_role)?;
        f.text("description", description)?;
        f.text("etag", etag)?;
        f.time("expireTime", expire_time.as_ref())?;
        f.text("id", id)?;
        f.enumeration::<pb::TokenKind>("kind", *kind)?;
        f.text("name", name)?;
        f.text("redirectUri", redirect_uri)?;
        f.time("revokeTime", revoke_time.as_ref())?;
        f.texts("scopes", scopes)?;
        f.text("secretPrefix", secret_prefix)?;
        f.enumeration::<pb::TokenStatus>("status", *status)?;
        f.text("subject", subject)?;
        f.time("updateTime", update_time.as_ref())?;
        f.text("userId", user_id)?;
        f.end()
    }
}

impl Serialize for Out<'_, pb::Client> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pb::Client {
            client_id,
            client_name,
            grant_types,
            response_types,
            scopes,
            redirect_uris,
            public,
            access_token_duration,
            refresh_token_duration,
            secret_prefix,
            create_time,
            update_time,
            last_use_time,
            etag,
        } = self.0;
        let mut f = Fields::start(s)?;
        f.duration("accessTokenDuration", access_token_duration.as_ref())?;
        f.text("clientId", client_id)?;
        f.text("clientName", client_name)?;
        f.time("createTime", create_time.as_ref())?;
        f.text("etag", etag)?;
        f.texts("grantTypes", grant_types)?;
        f.time("lastUseTime", last_use_time.as_ref())?;
        f.flag("public", *public)?;
        f.texts("redirectUris", redirect_uris)?;
        f.duration("refreshTokenDuration", refresh_token_duration.as_ref())?;
        f.texts("responseTypes", response_types)?;
        f.texts("scopes", scopes)?;
        f.text("secretPrefix", secret_prefix)?;
        f.time("updateTime", update_time.as_ref())?;
        f.end()
    }
}

impl Serialize for Out<'_, pb::ListTokensResponse> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pb::ListTokensResponse {
            tokens,
            next_page_token,
            total_size,
            read_version,
        } = self.0;
        let mut f = Fields::start(s)?;
        f.text("nextPageToken", next_page_token)?;
        f.int64("readVersion", *read_version)?;
        f.messages("tokens", tokens)?;
        f.opt_int64("totalSize", *total_size)?;
        f.end()
    }
}

impl Serialize for Out<'_, pb::ListClientsResponse> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pb::ListClientsResponse {
            clients,
            next_page_token,
            total_size,
            read_version,
        } = self.0;
        let mut f = Fields::start(s)?;
        f.messages("clients", clients)?;
        f.text("nextPageToken", next_page_token)?;
        f.int64("readVersion", *read_version)?;
        f.opt_int64("totalSize", *total_size)?;
        f.end()
    }
}

impl Serialize for Out<'_, pb::CountTokensResponse> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pb::CountTokensResponse { total_size } = self.0;
        let mut f = Fields::start(s)?;
        f.int64("totalSize", *total_size)?;
        f.end()
    }
}

impl Serialize for Out<'_, pb::CreateTokenResponse> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pb::CreateTokenResponse { token, secret } = self.0;
        let mut f = Fields::start(s)?;
        f.text("secret", secret)?;
        f.message("token", token.as_ref())?;
        f.end()
    }
}

impl Serialize for Out<'_, pb::CreateClientResponse> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pb::CreateClientResponse {
            client,
            client_secret,
        } = self.0;
        let mut f = Fields::start(s)?;
        f.message("client", client.as_ref())?;
        f.text("clientSecret", client_secret)?;
        f.end()
    }
}

impl Serialize for Out<'_, pb::BulkTokensResponse> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pb::BulkTokensResponse {
            matched,
            sample,
            confirmation_token,
            done,
            remaining,
            finished,
        } = self.0;
        let mut f = Fields::start(s)?;
        f.text("confirmationToken", confirmation_token)?;
        f.int64("done", *done)?;
        f.flag("finished", *finished)?;
        f.int64("matched", *matched)?;
        f.int64("remaining", *remaining)?;
        f.messages("sample", sample)?;
        f.end()
    }
}

impl Serialize for Out<'_, pb::WatchTokensResponse> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pb::WatchTokensResponse {
            kind,
            token,
            version,
            resume_token,
            change_time,
        } = self.0;
        let mut f = Fields::start(s)?;
        f.time("changeTime", change_time.as_ref())?;
        f.enumeration::<pb::ChangeKind>("kind", *kind)?;
        f.text("resumeToken", resume_token)?;
        f.message("token", token.as_ref())?;
        f.int64("version", *version)?;
        f.end()
    }
}

impl Serialize for Out<'_, pb::WatchClientsResponse> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pb::WatchClientsResponse {
            kind,
            client,
            version,
            resume_token,
            change_time,
        } = self.0;
        let mut f = Fields::start(s)?;
        f.time("changeTime", change_time.as_ref())?;
        f.message("client", client.as_ref())?;
        f.enumeration::<pb::ChangeKind>("kind", *kind)?;
        f.text("resumeToken", resume_token)?;
        f.int64("version", *version)?;
        f.end()
    }
}

/// `google.protobuf.Empty`: `{}`.
impl Serialize for Out<'_, Empty> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Empty {} = self.0;
        Fields::start(s)?.end()
    }
}

#[cfg(test)]
mod tests;
mod time;
