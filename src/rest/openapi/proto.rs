//! JSON Schemas for the canonical API's bodies, derived at run time from the
//! compiled protobuf descriptors with the proto3 JSON mapping rules (the ones
//! pbjson serializes by). The schemas follow `proto/` with no hand-kept copy:
//! field names, types, enums, descriptions (from the `.proto` comments) and
//! `readOnly` ("Output only.") all come from the descriptors.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use serde_json::{Map, Value, json};
use utoipa::openapi::{RefOr, Schema};

use crate::grpc::pb;

const PACKAGE: &str = "oauth_registry.v1";
/// Full names of our package's types start with this.
const PREFIX: &str = ".oauth_registry.v1.";

/// Our package's messages and enums by full name (`.oauth_registry.v1.Token`),
/// with their leading comments.
#[derive(Default)]
struct Catalog {
    messages: HashMap<String, (DescriptorProto, String, Vec<String>)>,
    enums: HashMap<String, (EnumDescriptorProto, String)>,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    let mut catalog = Catalog::default();
    // The set is compiled into the binary by build.rs, so it always decodes;
    // an empty catalog would only make the schemas empty, never panic.
    let set = FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).unwrap_or_default();
    for file in set.file.iter().filter(|f| f.package() == PACKAGE) {
        let comments: HashMap<Vec<i32>, String> = file
            .source_code_info
            .iter()
            .flat_map(|i| &i.location)
            .map(|l| (l.path.clone(), l.leading_comments().trim().to_owned()))
            .collect();
        let comment = |path: &[i32]| comments.get(path).cloned().unwrap_or_default();
        for (i, m) in file.message_type.iter().enumerate() {
            let i = i as i32;
            let fields = (0..m.field.len() as i32)
                .map(|f| comment(&[4, i, 2, f]))
                .collect();
            let name = format!("{PREFIX}{}", m.name());
            catalog
                .messages
                .insert(name, (m.clone(), comment(&[4, i]), fields));
        }
        for (i, e) in file.enum_type.iter().enumerate() {
            let name = format!("{PREFIX}{}", e.name());
            catalog
                .enums
                .insert(name, (e.clone(), comment(&[5, i as i32])));
        }
    }
    catalog
});

/// The component name of a type: its name without the package.
fn component(full: &str) -> &str {
    full.rsplit('.').next().unwrap_or(full)
}

fn reference(full: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{}", component(full))})
}

/// The JSON form of one (non-repeated) value of field `f`.
fn value_schema(f: &FieldDescriptorProto) -> Value {
    match f.r#type() {
        Type::Double | Type::Float => json!({"type": "number"}),
        Type::Int32 | Type::Sint32 | Type::Sfixed32 => {
            json!({"type": "integer", "format": "int32"})
        }
        Type::Uint32 | Type::Fixed32 => {
            json!({"type": "integer", "format": "int32", "minimum": 0})
        }
        // proto3 JSON writes 64-bit integers as decimal strings.
        Type::Int64 | Type::Sint64 | Type::Sfixed64 | Type::Uint64 | Type::Fixed64 => {
            json!({"type": "string", "format": "int64"})
        }
        Type::Bool => json!({"type": "boolean"}),
        Type::String => json!({"type": "string"}),
        Type::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Type::Enum => reference(f.type_name()),
        Type::Message => match f.type_name() {
            // `format` is only an annotation in JSON Schema 2020-12; the
            // pattern makes RFC 3339 a rule a validator checks.
            ".google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time",
                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"}),
            ".google.protobuf.Duration" => {
                json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$"})
            }
            ".google.protobuf.FieldMask" => {
                json!({"type": "string", "description": "comma-separated lowerCamelCase field paths"})
            }
            ".google.protobuf.Empty" => json!({"type": "object"}),
            name if name.starts_with(PREFIX) => reference(name),
            _ => json!({}),
        },
        Type::Group => json!({}),
    }
}

fn field_schema(message: &str, f: &FieldDescriptorProto, comment: &str) -> Value {
    let mut s = if f.label() == Label::Repeated {
        json!({"type": "array", "items": value_schema(f)})
    } else {
        value_schema(f)
    };
    // Message-typed fields (times, durations, masks) take `null` for unset,
    // as the protobuf JSON mapping (and pbjson) reads them.
    if f.label() != Label::Repeated
        && f.r#type() == Type::Message
        && let Some(t) = s.get("type").and_then(Value::as_str).map(str::to_owned)
    {
        s["type"] = json!([t, "null"]);
    }
    if let (Some(extra), Some(obj)) = (
        super::constraints::field(message, f.json_name()),
        s.as_object_mut(),
    ) {
        for (k, v) in extra.as_object().into_iter().flatten() {
            obj.insert(k.clone(), v.clone());
        }
    }
    if !comment.is_empty() {
        // A `$ref` cannot carry siblings in every tool; wrap it instead.
        if s.get("$ref").is_some() {
            s = json!({"allOf": [s]});
        }
        s["description"] = json!(comment);
        if comment.contains("Output only") {
            s["readOnly"] = json!(true);
        }
    }
    s
}

fn message_schema(m: &DescriptorProto, comment: &str, fields: &[String]) -> Value {
    let mut properties = Map::new();
    for (f, c) in m.field.iter().zip(fields) {
        properties.insert(f.json_name().to_owned(), field_schema(m.name(), f, c));
    }
    // pbjson refuses fields the message does not have.
    json!({"type": "object", "description": comment, "properties": properties,
        "additionalProperties": false})
}

/// An enum is written by name; read by name or by number (protobuf JSON).
fn enum_schema(e: &EnumDescriptorProto, comment: &str) -> Value {
    let names: Vec<&str> = e.value.iter().map(|v| v.name()).collect();
    let numbers: Vec<i32> = e.value.iter().map(|v| v.number()).collect();
    json!({"description": comment, "anyOf": [
        {"type": "string", "enum": names},
        {"type": "integer", "enum": numbers},
    ]})
}

/// The schema of a message or enum of our package, by full name.
fn schema_of(full: &str) -> Value {
    let c = &*CATALOG;
    if let Some((m, comment, fields)) = c.messages.get(full) {
        message_schema(m, comment, fields)
    } else if let Some((e, comment)) = c.enums.get(full) {
        enum_schema(e, comment)
    } else {
        json!({})
    }
}

/// Every type of our package that `full` refers to, transitively.
fn dependencies(full: &str, out: &mut BTreeSet<String>) {
    let Some((m, _, _)) = CATALOG.messages.get(full) else {
        return;
    };
    for f in &m.field {
        let name = f.type_name();
        if name.starts_with(PREFIX) && out.insert(name.to_owned()) {
            dependencies(name, out);
        }
    }
}

/// Rewrites the `google.protobuf.Timestamp` fields of `value` (the JSON of
/// message `name` of our package) into the proto3 JSON form grpcurl prints:
/// UTC with `Z` and 0, 3, 6 or 9 fractional digits (pbjson writes `+00:00`).
/// The descriptors say which fields are timestamps, so no other string is
/// ever touched. The canonical API's former response path, kept as the
/// reference its direct serializers (`rest::canonical::json`) are tested
/// against.
#[cfg(test)]
pub(crate) fn normalize_timestamps(value: &mut Value, name: &str) {
    walk(value, &format!("{PREFIX}{name}"));
}

#[cfg(test)]
fn walk(value: &mut Value, full: &str) {
    let Some((m, _, _)) = CATALOG.messages.get(full) else {
        return;
    };
    let Some(obj) = value.as_object_mut() else {
        return;
    };
    for f in &m.field {
        let Some(v) = obj.get_mut(f.json_name()) else {
            continue;
        };
        let items: Vec<&mut Value> = match v {
            Value::Array(a) if f.label() == Label::Repeated => a.iter_mut().collect(),
            other => vec![other],
        };
        for item in items {
            match f.type_name() {
                ".google.protobuf.Timestamp" => {
                    if let Some(t) = item
                        .as_str()
                        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    {
                        *item = Value::String(
                            t.with_timezone(&chrono::Utc)
                                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                        );
                    }
                }
                name if name.starts_with(PREFIX) => walk(item, name),
                _ => {}
            }
        }
    }
}

fn to_schema(v: Value) -> RefOr<Schema> {
    serde_json::from_value(v).unwrap_or_else(|_| RefOr::T(Schema::default()))
}

/// A protobuf message as an OpenAPI body type: `impl ToSchema` whose schema
/// is read from the descriptors. `$name` is the message's short name.
macro_rules! proto_message {
    ($(#[$doc:meta])* $ty:ident, $name:literal) => {
        $(#[$doc])*
        pub struct $ty;

        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                to_schema(schema_of(concat!(".oauth_registry.v1.", $name)))
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
                let mut deps = BTreeSet::new();
                dependencies(concat!(".oauth_registry.v1.", $name), &mut deps);
                for d in deps {
                    out.push((component(&d).to_owned(), to_schema(schema_of(&d))));
                }
            }
        }
    };
}

proto_message!(
    /// `oauth_registry.v1.Token` in the protobuf JSON mapping.
    Token,
    "Token"
);
proto_message!(
    /// `oauth_registry.v1.Client` in the protobuf JSON mapping.
    Client,
    "Client"
);
proto_message!(
    /// `oauth_registry.v1.ListTokensResponse`.
    ListTokensResponse,
    "ListTokensResponse"
);
proto_message!(
    /// `oauth_registry.v1.ListClientsResponse`.
    ListClientsResponse,
    "ListClientsResponse"
);
proto_message!(
    /// `oauth_registry.v1.CountTokensResponse`.
    CountTokensResponse,
    "CountTokensResponse"
);
proto_message!(
    /// `oauth_registry.v1.CreateTokenResponse` (the token and its secret).
    CreateTokenResponse,
    "CreateTokenResponse"
);
proto_message!(
    /// `oauth_registry.v1.CreateClientResponse` (the client and its secret).
    CreateClientResponse,
    "CreateClientResponse"
);
proto_message!(
    /// `oauth_registry.v1.WatchTokensResponse` (one event's data).
    WatchTokensResponse,
    "WatchTokensResponse"
);
proto_message!(
    /// `oauth_registry.v1.WatchClientsResponse` (one event's data).
    WatchClientsResponse,
    "WatchClientsResponse"
);

proto_message!(
    /// `oauth_registry.v1.LookupTokenRequest` (the secret to look up).
    LookupTokenRequest,
    "LookupTokenRequest"
);

proto_message!(
    /// `oauth_registry.v1.RevokeTokensRequest` (the filter, dry run and confirmation).
    RevokeTokensRequest,
    "RevokeTokensRequest"
);
proto_message!(
    /// `oauth_registry.v1.DeleteTokensRequest` (the filter, dry run and confirmation).
    DeleteTokensRequest,
    "DeleteTokensRequest"
);
proto_message!(
    /// `oauth_registry.v1.RevokeClientTokensRequest` (dry run and confirmation; the client comes from the path).
    RevokeClientTokensRequest,
    "RevokeClientTokensRequest"
);
proto_message!(
    /// `oauth_registry.v1.BulkTokensResponse` (a bulk run's or dry run's outcome).
    BulkTokensResponse,
    "BulkTokensResponse"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_schema_follows_the_descriptor() {
        let s = schema_of(".oauth_registry.v1.Token");
        assert_eq!(s["properties"]["expireTime"]["format"], "date-time");
        assert_eq!(s["properties"]["scopes"]["type"], "array");
        assert_eq!(s["properties"]["id"]["readOnly"], true);
        assert!(s["properties"].get("userId").is_some());
        assert!(
            s["description"]
                .as_str()
                .is_some_and(|d| d.contains("OAuth 2.0 token"))
        );
        let mut deps = BTreeSet::new();
        dependencies(".oauth_registry.v1.ListTokensResponse", &mut deps);
        assert!(deps.contains(".oauth_registry.v1.Token"));
        assert!(deps.contains(".oauth_registry.v1.TokenStatus"));
    }

    #[test]
    fn timestamps_become_z_normalized_and_nothing_else_changes() {
        let mut v = json!({"tokens": [{"name": "2024-01-01T00:00:00+00:00",
            "createTime": "2024-01-01T00:00:00.120+00:00", "expireTime": "2024-01-01T00:00:00+00:00"}]});
        normalize_timestamps(&mut v, "ListTokensResponse");
        let t = &v["tokens"][0];
        assert_eq!(t["createTime"], "2024-01-01T00:00:00.120Z");
        assert_eq!(t["expireTime"], "2024-01-01T00:00:00Z");
        assert_eq!(t["name"], "2024-01-01T00:00:00+00:00");
    }
}
