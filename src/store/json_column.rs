//! A row as JSON, for the change feed's `before`/`after` copies. Each
//! column is a JSON value of its own type under its column name; ids read
//! back are trusted, as any row the store reads is. Written by
//! `rows::table_row!` from the one column list.

use serde_json::Value;

use crate::domain::ids::{ClientId, KeyId, OrgId, TokenId};
use crate::domain::model::{ChallengeMethod, TokenKind};

/// A column type that round-trips through JSON.
pub trait JsonColumn: Sized {
    fn to_json(&self) -> Value;
    fn from_json(v: &Value) -> Option<Self>;
}

impl JsonColumn for String {
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
    fn from_json(v: &Value) -> Option<Self> {
        v.as_str().map(str::to_owned)
    }
}

impl JsonColumn for i64 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
    fn from_json(v: &Value) -> Option<Self> {
        v.as_i64()
    }
}

impl JsonColumn for bool {
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_json(v: &Value) -> Option<Self> {
        v.as_bool()
    }
}

/// Bytes are not meant for the feed (no row it copies has any); an API
/// key's hash would be left out rather than copied.
impl JsonColumn for Vec<u8> {
    fn to_json(&self) -> Value {
        Value::Null
    }
    fn from_json(_: &Value) -> Option<Self> {
        Some(Vec::new())
    }
}

impl<T: JsonColumn> JsonColumn for Option<T> {
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_json)
    }
    fn from_json(v: &Value) -> Option<Self> {
        if v.is_null() {
            Some(None)
        } else {
            T::from_json(v).map(Some)
        }
    }
}

macro_rules! trusted_id {
    ($($name:ident),*) => {$(
        impl JsonColumn for $name {
            fn to_json(&self) -> Value {
                Value::String(self.as_str().to_owned())
            }
            fn from_json(v: &Value) -> Option<Self> {
                v.as_str().map(|s| $name::from_trusted(s.to_owned()))
            }
        }
    )*};
}
trusted_id!(OrgId, TokenId, ClientId, KeyId);

impl JsonColumn for super::ids::Text {
    fn to_json(&self) -> Value {
        self.0.to_json()
    }
    fn from_json(v: &Value) -> Option<Self> {
        String::from_json(v).map(super::ids::Text)
    }
}

macro_rules! tag {
    ($($name:ident),*) => {$(
        impl JsonColumn for $name {
            fn to_json(&self) -> Value {
                Value::String(self.as_str().to_owned())
            }
            fn from_json(v: &Value) -> Option<Self> {
                $name::parse(v.as_str()?)
            }
        }
    )*};
}
tag!(TokenKind, ChallengeMethod);
