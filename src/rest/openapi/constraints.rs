//! Rules the handlers enforce that the generated document would otherwise
//! not state, so a client generated from `/openapi.json` (or a fuzzer such
//! as schemathesis) sends what the service accepts and expects what it
//! refuses: ids are UUIDs, field lengths and patterns follow the domain's
//! validators, enums accept their numbers and `null` as protobuf JSON does,
//! Review Board's PUT body is optional, a create's answer links to the
//! operations on what it created, and an event stream is text whose
//! events' data has the message's schema.

use serde_json::{Value, json};

use crate::domain::validate::{MAX_DESCRIPTION, MAX_LIST, MAX_TEXT};

/// Path parameters that name a resource by its server-assigned id.
const ID_PARAMETERS: [&str; 3] = ["id", "token_id", "clientId"];

/// Tightens the document (as JSON) in place.
pub fn apply(doc: &mut Value) {
    crate::rest::reviewboard::local_sites(doc);
    // `get`/`get_mut` only: indexing a `Value` mutably inserts `null`.
    let paths = doc.get_mut("paths").and_then(Value::as_object_mut);
    for (_, item) in paths.into_iter().flatten() {
        for (method, op) in item.as_object_mut().into_iter().flatten() {
            let parameters = op.get_mut("parameters").and_then(Value::as_array_mut);
            for p in parameters.into_iter().flatten() {
                if p.get("in") == Some(&json!("path"))
                    && ID_PARAMETERS
                        .iter()
                        .any(|n| p.get("name") == Some(&json!(n)))
                {
                    p["schema"] = json!({"type": "string", "format": "uuid"});
                }
            }
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            // Review Board's PUT may send no body (nothing to change).
            if method == "put" && id.starts_with("ReviewBoard") {
                op["requestBody"]["required"] = json!(false);
            }
            event_streams(op);
            if let Some(links) = links_of(&id) {
                op["responses"]["200"]["links"] = links;
            }
            if let Some(required) = required_on_create(&id) {
                let schema = &mut op["requestBody"]["content"]["application/json"]["schema"];
                if schema.is_object() {
                    *schema = json!({"allOf": [schema.take(), {"required": required}]});
                }
            }
        }
    }
}

/// An event stream's body is text, not the message it was documented
/// with: the message's schema moves to `x-itemSchema` (what OpenAPI 3.2
/// calls `itemSchema`: the schema of each event's `data:`).
fn event_streams(op: &mut Value) {
    let responses = op.get_mut("responses").and_then(Value::as_object_mut);
    for (_, response) in responses.into_iter().flatten() {
        let media = response
            .get_mut("content")
            .and_then(|c| c.get_mut("text/event-stream"));
        if let Some(media) = media
            && let Some(schema) = media.get_mut("schema").map(Value::take)
        {
            media["x-itemSchema"] = schema;
            media["schema"] = json!({"type": "string"});
        }
    }
}

/// Fields a create needs (the shared schemas serve updates too, where
/// every field is optional).
fn required_on_create(operation: &str) -> Option<Value> {
    match operation {
        "CreateToken" => Some(json!(["userId"])),
        "CreateClient" => Some(json!(["clientName", "grantTypes"])),
        _ => None,
    }
}

/// OpenAPI links from a create to the operations on what it created.
fn links_of(operation: &str) -> Option<Value> {
    let (id, targets): (&str, &[&str]) = match operation {
        "CreateToken" => (
            "$response.body#/token/id",
            &["GetToken", "UpdateToken", "RevokeToken", "DeleteToken"],
        ),
        "CreateClient" => (
            "$response.body#/client/clientId",
            &["GetClient", "UpdateClient", "DeleteClient"],
        ),
        _ => return None,
    };
    let mut links = serde_json::Map::new();
    for t in targets {
        links.insert(
            (*t).to_owned(),
            json!({"operationId": t, "parameters": {"id": id}}),
        );
    }
    Some(Value::Object(links))
}

/// Extra JSON Schema keywords for a field of our messages, from the
/// validators in `domain::validate` (message short name, JSON field name).
pub fn field(message: &str, field: &str) -> Option<Value> {
    // validate::optional_text: no control characters but tab and newline;
    // required_text: also at least one character that is not white space.
    const PRINTABLE: &str = "^[^\\x00-\\x08\\x0B-\\x1F\\x7F-\\x9F]*$";
    const REQUIRED: &str = "^[^\\x00-\\x08\\x0B-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x08\\x0B-\\x1F\\x7F-\\x9F]*$";
    let text = json!({"maxLength": MAX_TEXT, "pattern": PRINTABLE});
    let scope = json!({"type": "string", "minLength": 1, "maxLength": 128,
        "pattern": "^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$"});
    // validate::redirect_uri: scheme://... or a reverse-domain scheme:/path;
    // no fragment, no white space.
    let uri = json!({"type": "string", "minLength": 1, "maxLength": 2048,
        "pattern": "^([A-Za-z][A-Za-z0-9+.-]*://[^#\\s]+|[A-Za-z][A-Za-z0-9+-]*\\.[A-Za-z0-9+.-]*:/[^#\\s]+)$"});
    Some(match (message, field) {
        // validate::id: 1 to 64 visible ASCII characters.
        ("Token", "userId") => json!({"minLength": 1, "maxLength": 64, "pattern": "^[!-~]+$"}),
        ("Client", "clientName") => {
            json!({"minLength": 1, "maxLength": MAX_TEXT, "pattern": REQUIRED})
        }
        ("Token", "name" | "audience" | "subject" | "defaultRole") => text,
        ("Token", "description") => json!({"maxLength": MAX_DESCRIPTION, "pattern": PRINTABLE}),
        ("Token", "redirectUri") => json!({"maxLength": 2048}),
        ("Token", "codeChallenge") => json!({"maxLength": 128}),
        ("Token" | "Client", "scopes") => json!({"maxItems": MAX_LIST, "items": scope}),
        ("Client", "redirectUris") => json!({"maxItems": MAX_LIST, "items": uri}),
        ("Client", "grantTypes") => {
            json!({"minItems": 1, "maxItems": MAX_LIST, "items": {"type": "string",
            "enum": ["client_credentials", "authorization_code", "refresh_token"]}})
        }
        // Whole seconds, at least one (see grpc::convert::parse_duration).
        ("Client", "accessTokenDuration" | "refreshTokenDuration") => {
            json!({"pattern": "^[1-9][0-9]{0,9}(\\.0{1,9})?s$"})
        }
        ("Client", "responseTypes") => json!({"maxItems": MAX_LIST, "items": {"type": "string",
            "pattern": "^(code|id_token|token)( (code|id_token|token)){0,2}$"}}),
        _ => return None,
    })
}
