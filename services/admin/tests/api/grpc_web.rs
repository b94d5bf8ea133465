//! gRPC-Web as a browser's grpc-web client speaks it, written out by hand rather than through
//! tonic-web's own client, so the test cannot share the server's assumptions: HTTP/1.1 with an
//! `Origin`, messages and status both in the body (browsers cannot read HTTP trailers), and
//! grpc-web-text for clients that can only read text.

use std::{collections::HashMap, fmt::Debug};

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::Message;
use reqwest::{Version, header::HeaderMap};
use tonic::Code;

use crate::helpers::TestApp;

/// Where the browser's page comes from.
pub const ORIGIN: &str = "http://dashboard.example";

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// `application/grpc-web+proto`: binary frames.
    Binary,
    /// `application/grpc-web`: the same, Protobuf implied, as some clients send it.
    Plain,
    /// `application/grpc-web-text`: the same frames in base64.
    Text,
}

/// A unary call's answer, whether the status came in the trailer frame or, for an answer
/// without messages, in the headers.
#[derive(Debug)]
pub struct GrpcWebReply<M> {
    pub status: Code,
    /// `grpc-message`, percent-decoded as a browser shows it.
    pub message: String,
    pub messages: Vec<M>,
    pub headers: HeaderMap,
}

impl<M: Debug> GrpcWebReply<M> {
    /// The one message of a successful unary call.
    pub fn single(mut self) -> M {
        assert_eq!(self.status, Code::Ok, "{self:?}");
        assert_eq!(self.messages.len(), 1, "one message: {self:?}");
        self.messages.pop().expect("one message")
    }
}

/// A unary call to `path` (`/package.Service/Method`) with the headers a browser sends.
pub async fn call<Req: Message, Resp: Message + Default>(
    app: &TestApp,
    path: &str,
    request: &Req,
    mode: Mode,
) -> GrpcWebReply<Resp> {
    let (content_type, answer_type) = match mode {
        Mode::Binary => ("application/grpc-web+proto", "application/grpc-web"),
        Mode::Plain => ("application/grpc-web", "application/grpc-web"),
        Mode::Text => ("application/grpc-web-text", "application/grpc-web-text"),
    };
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(request.encoded_len() as u32);
    request.encode(&mut frame).expect("room in a BytesMut");
    let body = match mode {
        Mode::Text => Bytes::from(STANDARD.encode(&frame)),
        Mode::Binary | Mode::Plain => frame.freeze(),
    };
    let response = app
        .http
        .post(app.url(path))
        .header("content-type", content_type)
        .header("accept", content_type)
        .header("x-grpc-web", "1")
        .header("x-user-agent", "grpc-web-javascript/0.1")
        .header("origin", ORIGIN)
        .body(body)
        .send()
        .await
        .expect("admin answers gRPC-Web");
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(response.status(), 200, "POST {path}: {response:?}");
    let headers = response.headers().clone();
    let answered_as = headers.get("content-type").and_then(|v| v.to_str().ok());
    assert!(
        answered_as.is_some_and(|t| t.starts_with(answer_type)),
        "POST {path} answered as {answered_as:?}: {headers:?}"
    );
    let mut body = response.bytes().await.expect("the body");
    if let Mode::Text = mode {
        body = decode_text(&body);
    }
    let (messages, trailers) = frames(body);
    // An answer without messages may carry the status in the headers instead.
    let field = |name: &str| match trailers.get(name) {
        Some(value) => Some(value.clone()),
        None => headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII").to_owned()),
    };
    let status = field("grpc-status")
        .unwrap_or_else(|| panic!("no grpc-status: {headers:?} {trailers:?}"))
        .parse()
        .expect("grpc-status is a number");
    GrpcWebReply {
        status: Code::from_i32(status),
        message: percent_decode(&field("grpc-message").unwrap_or_default()),
        messages: messages
            .into_iter()
            .map(|m| Resp::decode(m).expect("the message decodes"))
            .collect(),
        headers,
    }
}

/// Splits a body into its data frames (flag 0x00) and the one trailer frame (flag 0x80) of
/// `name:value\r\n` lines, which must come last.
fn frames(mut body: Bytes) -> (Vec<Bytes>, HashMap<String, String>) {
    let mut messages = Vec::new();
    let mut trailers = HashMap::new();
    while body.has_remaining() {
        assert!(body.len() >= 5, "a truncated frame header: {body:?}");
        assert!(trailers.is_empty(), "a frame after the trailers: {body:?}");
        let flag = body.get_u8();
        let len = body.get_u32() as usize;
        assert!(
            body.len() >= len,
            "a truncated frame: {len} bytes announced"
        );
        let payload = body.split_to(len);
        match flag {
            0x00 => messages.push(payload),
            0x80 => {
                let text = std::str::from_utf8(&payload).expect("trailers are text");
                for line in text.split("\r\n").filter(|l| !l.is_empty()) {
                    let (name, value) = line
                        .split_once(':')
                        .unwrap_or_else(|| panic!("a trailer line {line:?}"));
                    trailers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
                assert!(!trailers.is_empty(), "an empty trailer frame");
            }
            other => panic!("a frame with flag {other:#04x}"),
        }
    }
    (messages, trailers)
}

/// A grpc-web-text body may be several base64 chunks, each padded: decoded quad by quad.
fn decode_text(body: &[u8]) -> Bytes {
    let text: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    assert_eq!(text.len() % 4, 0, "base64 comes in quads: {body:?}");
    let quads = text
        .chunks(4)
        .map(|quad| STANDARD.decode(quad).expect("base64"));
    Bytes::from(quads.collect::<Vec<_>>().concat())
}

/// `grpc-message` is percent-encoded so that any text fits in a header; a `%` not followed by
/// two hex digits stands for itself.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = text
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).expect("grpc-message is UTF-8")
}
