//! Property tests of every provider stream decoder, through the same [`drive`] the router uses: arbitrary
//! bytes, valid streams cut anywhere and mixed with noise, in arbitrary chunks. A decoder never panics,
//! the stream always ends, an error is the last item, no output event outgrows the input event bound
//! ([`MAX_SSE_EVENT`]), an over-size event fails, and a pass-through decoder's output does not depend on
//! how the bytes were chunked.
//!
//! Cases: `PROPTEST_CASES` (default 64 here, to keep CI fast). A longer run:
//! `PROPTEST_CASES=100000 cargo test -p byok-shared --lib stream_props`.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use proptest::prelude::*;

use super::sse::{Decoder, drive};
use super::translate::Translator;
use super::{ErrorClass, MAX_SSE_EVENT, ProviderError, StreamEvent, anthropic, google, openai};
use crate::domain::provider::Provider;
use crate::secret::Secret;

type Items = Vec<Result<StreamEvent, ProviderError>>;

fn key() -> Secret {
    Secret::new("sk-prop-test")
}

/// Every decoder the router can put behind a provider stream.
const DECODERS: usize = 8;

fn run(decoder: usize, chunks: Vec<Bytes>) -> Items {
    fn go<D: Decoder>(provider: Provider, chunks: Vec<Bytes>, decoder: D) -> Items {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(
            drive(
                provider,
                futures::stream::iter(chunks.into_iter().map(Ok)),
                decoder,
                Duration::from_secs(5),
            )
            .collect(),
        )
    }
    use anthropic::stream as a;
    use openai::stream as o;
    let (oai, ant, goo) = (Provider::OpenAi, Provider::Anthropic, Provider::Google);
    match decoder {
        0 => go(
            oai,
            chunks,
            o::Passthrough::new(oai, key(), "openai/m", true),
        ),
        1 => go(
            oai,
            chunks,
            o::Passthrough::new(Provider::Xai, key(), "xai/m", false),
        ),
        2 => go(ant, chunks, a::Passthrough::new(key(), "anthropic/m")),
        3 => go(
            oai,
            chunks,
            Translator {
                provider: oai,
                source: o::Source::new(oai, key()),
                encoder: a::Encode::new("openai/m"),
            },
        ),
        4 => go(
            ant,
            chunks,
            Translator {
                provider: ant,
                source: a::Source::new(key()),
                encoder: o::Encode::new("anthropic/m", true),
            },
        ),
        5 => go(
            goo,
            chunks,
            Translator {
                provider: goo,
                source: google::response::Source::new(key()),
                encoder: o::Encode::new("google/m", false),
            },
        ),
        6 => go(
            goo,
            chunks,
            Translator {
                provider: goo,
                source: google::response::Source::new(key()),
                encoder: a::Encode::new("google/m"),
            },
        ),
        _ => go(
            oai,
            chunks,
            Translator {
                provider: oai,
                source: o::Source::new(Provider::Xai, key()),
                encoder: o::Encode::new("xai/m", true),
            },
        ),
    }
}

/// Valid events of each wire format (OpenAI chunks, Anthropic events, Gemini chunks), to build streams
/// that get past the JSON parse and exercise the decoders' state machines.
const EVENTS: &[&str] = &[
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n",
    "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n",
    "data: [DONE]\n\n",
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n",
    "event: ping\ndata: {\"type\":\"ping\"}\n\n",
    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},\"index\":0}],\"responseId\":\"r\"}\r\n\r\n",
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}}}],\"role\":\"model\"},\"index\":0}]}\r\n\r\n",
    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"!\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2,\"totalTokenCount\":5}}\r\n\r\n",
    "data: {\"candidates\":[{\"finishReason\":\"SAFETY\",\"index\":0}]}\n\n",
    ": keep-alive comment\n\n",
    "retry: 10\nid: 7\n\n",
];

/// Noise between and inside events: broken JSON, odd fields, lone CRs, bytes that are not UTF-8.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"data: {\"choices\":[{\"delta\":{\"content\":\n\n".to_vec()),
        Just(b"data: null\n\n".to_vec()),
        Just(b"data: []\n\n".to_vec()),
        Just(b"data: {\"choices\":\"x\",\"usage\":7}\n\n".to_vec()),
        Just(b"event: message_start\ndata: {}\n\n".to_vec()),
        Just(
            b"event: content_block_delta\ndata: {\"index\":99999999999,\"delta\":{}}\n\n".to_vec()
        ),
        Just(b"\r\r\n\n".to_vec()),
        Just(vec![0xff, 0xfe, b'\n', 0xc3, b'\n', b'\n']),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

/// A stream of valid events (possibly cut mid-event) with noise mixed in.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let part = prop_oneof![
        4 => (0..EVENTS.len()).prop_map(|i| EVENTS[i].as_bytes().to_vec()),
        1 => noise(),
    ];
    (
        proptest::collection::vec(part, 0..24),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(parts, cut, cut_it)| {
            let mut bytes: Vec<u8> = parts.concat();
            if cut_it && !bytes.is_empty() {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        })
}

/// `bytes` split at the given cut points.
fn chunked(bytes: &[u8], cuts: &[prop::sample::Index]) -> Vec<Bytes> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut from = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        out.push(Bytes::copy_from_slice(&bytes[from..p]));
        from = p;
    }
    out
}

/// What must hold for any input: an error only as the last item, and output events within the bound.
fn check_shape(items: &Items) -> Result<(), TestCaseError> {
    if let Some(i) = items.iter().position(Result::is_err) {
        prop_assert_eq!(i, items.len() - 1, "an item after an error");
    }
    for event in items.iter().flatten() {
        let size = serde_json::to_string(&event.data).unwrap().len();
        prop_assert!(
            size <= MAX_SSE_EVENT + 4096,
            "an output event of {} bytes",
            size
        );
    }
    Ok(())
}

/// A comparable view of a run (errors by class and message).
fn summary(items: &Items) -> Vec<String> {
    items
        .iter()
        .map(|i| match i {
            Ok(e) => format!("ok {:?} {} {}", e.event, e.data, e.is_content),
            Err(e) => format!("err {:?} {}", e.class, e.message),
        })
        .collect()
}

pub(super) fn config() -> ProptestConfig {
    // PROPTEST_CASES overrides (ProptestConfig::default reads it); 64 when unset.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(
        decoder in 0..DECODERS,
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..16),
    ) {
        let items = run(decoder, chunked(&bytes, &cuts));
        check_shape(&items)?;
    }

    #[test]
    fn mixed_streams_keep_their_shape(
        decoder in 0..DECODERS,
        bytes in stream_bytes(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..32),
    ) {
        let items = run(decoder, chunked(&bytes, &cuts));
        check_shape(&items)?;
    }

    /// Pass-through decoders add no ids of their own, so chunking must not change a single item.
    #[test]
    fn passthrough_is_independent_of_chunking(
        decoder in prop::sample::select(vec![0usize, 1, 2]),
        bytes in stream_bytes(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..32),
    ) {
        let whole = summary(&run(decoder, vec![Bytes::from(bytes.clone())]));
        let split = summary(&run(decoder, chunked(&bytes, &cuts)));
        prop_assert_eq!(whole, split);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: config().cases.min(16), ..config() })]

    /// An event over the bound fails as a server error (never buffered whole, never passed on), however
    /// it is chunked and whatever precedes it.
    #[test]
    fn oversize_events_fail(
        decoder in 0..DECODERS,
        prefix in 0..EVENTS.len(),
        extra in 1usize..4096,
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut bytes = EVENTS[prefix].as_bytes().to_vec();
        bytes.extend_from_slice(b"data: \"");
        bytes.resize(bytes.len() + MAX_SSE_EVENT + extra, b'x');
        bytes.extend_from_slice(b"\"\n\n");
        let items = run(decoder, chunked(&bytes, &cuts));
        check_shape(&items)?;
        // The prefix may end the stream first: a terminator (`[DONE]`, `message_stop`) or an error event.
        let ends_first = ["[DONE]", "message_stop", "error"].iter().any(|t| EVENTS[prefix].contains(t));
        match items.last() {
            Some(Err(e)) if e.message.contains("larger than") => prop_assert_eq!(e.class, ErrorClass::Server),
            _ => prop_assert!(ends_first, "{:?}", summary(&items)),
        }
    }
}
