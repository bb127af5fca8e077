//! A Server-Sent Events client for the watch routes, as a browser's
//! EventSource reads them: frame by frame off the open response, comments
//! skipped, each read bounded by [`WAIT`] so a test fails rather than hangs.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::TestApp;

pub const WAIT: Duration = Duration::from_secs(10);

/// One event as received.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

impl Frame {
    /// `data.version`, an int64 written as a string.
    pub fn version(&self) -> i64 {
        self.data["version"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("version as an int64 string: {}", self.data))
    }
}

/// An open event stream.
pub struct Events {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Events {
    /// The next event (keep-alive comments skipped); `None` once the server
    /// ended the stream. Fails the test after 10 s without one.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 2).collect();
                match parse(&String::from_utf8(raw).expect("UTF-8 frame")) {
                    Some(frame) => return Some(frame),
                    None => continue,
                }
            }
            let chunk = tokio::time::timeout(WAIT, self.resp.chunk())
                .await
                .expect("an event within 10 s")
                .expect("reading the stream");
            match chunk {
                Some(bytes) => self.buf.extend_from_slice(&bytes),
                None => {
                    assert!(self.buf.is_empty(), "a cut frame: {:?}", self.buf);
                    return None;
                }
            }
        }
    }

    pub async fn event(&mut self) -> Frame {
        self.next().await.expect("the stream is still open")
    }

    /// The next event that is not a bookmark.
    pub async fn change(&mut self) -> Frame {
        loop {
            let f = self.event().await;
            if f.event != "bookmark" {
                return f;
            }
        }
    }
}

/// A frame's fields; `None` for a frame of comments only.
fn parse(raw: &str) -> Option<Frame> {
    let (mut id, mut event, mut data) = (None, None, Vec::new());
    for line in raw.lines().filter(|l| !l.is_empty() && !l.starts_with(':')) {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "id" => id = Some(value),
            "event" => event = Some(value),
            "data" => data.push(value),
            other => panic!("unexpected field {other:?} in {raw:?}"),
        }
    }
    if (id.is_none() && event.is_none()) && data.is_empty() {
        return None;
    }
    assert_eq!(data.len(), 1, "one line of JSON per event: {raw:?}");
    Some(Frame {
        id,
        event: event.expect("every event names its type"),
        data: serde_json::from_str(&data[0]).expect("JSON data"),
    })
}

pub async fn open(
    app: &TestApp,
    key: &str,
    path: &str,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .get(format!("{}{path}", app.rest))
        .bearer_auth(key);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id);
    }
    tokio::time::timeout(WAIT, req.send())
        .await
        .expect("answered within 10 s")
        .expect("request")
}

pub async fn watch(app: &TestApp, key: &str, path: &str, last_event_id: Option<&str>) -> Events {
    let resp = open(app, key, path, last_event_id).await;
    let status = resp.status();
    if status != StatusCode::OK {
        panic!("{path}: {status} {}", resp.text().await.unwrap_or_default());
    }
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    Events {
        resp,
        buf: Vec::new(),
    }
}

/// A refusal: its status and `google.rpc.Status` body.
pub async fn refused(
    app: &TestApp,
    key: &str,
    path: &str,
    last_event_id: Option<&str>,
) -> (StatusCode, Value) {
    let resp = open(app, key, path, last_event_id).await;
    let status = resp.status();
    assert_eq!(resp.headers()["content-type"], "application/json", "{path}");
    (status, resp.json().await.expect("JSON error body"))
}

/// The fields named by a `google.rpc.Status` body's BadRequest violations.
pub fn violated(body: &Value) -> Vec<&str> {
    body["details"][0]["fieldViolations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["field"].as_str())
        .collect()
}
