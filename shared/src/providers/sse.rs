//! Reading a provider's SSE stream: bounded event size, an idle timeout, and a [`Decoder`] that turns
//! each upstream event into client events. A stream that ends before its decoder saw the provider's
//! terminator ends with an error item.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{EventStreamError, Eventsource};
use futures::{Stream, StreamExt};

use super::{EventStream, MAX_SSE_EVENT, ProviderError, StreamEvent};
use crate::domain::provider::Provider;

/// Turns upstream SSE events into client events.
pub(crate) trait Decoder: Send + 'static {
    /// One upstream event (`event` is `"message"` when the provider sent no `event:` line).
    fn on_event(
        &mut self,
        event: &str,
        data: &str,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError>;

    /// The provider sent its explicit terminator (`[DONE]`, `message_stop`): stop reading.
    fn is_terminated(&self) -> bool;

    /// Upstream ended or terminated: flush, or fail if the answer is incomplete.
    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ProviderError>;
}

/// Fail a chunk stream once an event (bytes since the last blank line) would exceed [`MAX_SSE_EVENT`], and
/// pass on whole lines only, so the SSE parser (which re-scans its buffer on every chunk) parses each line
/// once however the provider fragments its writes.
fn bounded<S>(
    provider: Provider,
    bytes: S,
) -> impl Stream<Item = Result<Bytes, ProviderError>> + Send + 'static
where
    S: Stream<Item = Result<Bytes, ProviderError>> + Send + 'static,
{
    let mut event_len = 0usize;
    let mut line_len = 0usize;
    let mut partial = bytes::BytesMut::new();
    bytes.map(move |chunk| {
        let chunk = chunk?;
        for &b in chunk.iter() {
            match b {
                b'\n' => {
                    if line_len == 0 {
                        event_len = 0;
                    }
                    line_len = 0;
                }
                b'\r' => {}
                _ => {
                    line_len += 1;
                    event_len += 1;
                }
            }
            if event_len > MAX_SSE_EVENT {
                return Err(ProviderError::server(format!(
                    "{provider} sent a stream event larger than {MAX_SSE_EVENT} bytes"
                )));
            }
        }
        let last_newline = chunk.iter().rposition(|&b| b == b'\n');
        partial.extend_from_slice(&chunk);
        Ok(match last_newline {
            Some(i) => partial
                .split_to(partial.len() - chunk.len() + i + 1)
                .freeze(),
            None => Bytes::new(),
        })
    })
}

struct State<D> {
    provider: Provider,
    events: std::pin::Pin<
        Box<
            dyn Stream<Item = Result<eventsource_stream::Event, EventStreamError<ProviderError>>>
                + Send,
        >,
    >,
    decoder: D,
    pending: VecDeque<Result<StreamEvent, ProviderError>>,
    idle: Duration,
    over: bool,
}

/// Decode `bytes` (an SSE body) with `decoder`, waiting at most `idle` for each upstream event.
pub(crate) fn drive<S, D>(provider: Provider, bytes: S, decoder: D, idle: Duration) -> EventStream
where
    S: Stream<Item = Result<Bytes, ProviderError>> + Send + 'static,
    D: Decoder,
{
    let state = State {
        provider,
        events: Box::pin(bounded(provider, bytes).eventsource()),
        decoder,
        pending: VecDeque::new(),
        idle,
        over: false,
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.pending.pop_front() {
                return Some((item, st));
            }
            if st.over {
                return None;
            }
            let next = match tokio::time::timeout(st.idle, st.events.next()).await {
                Ok(next) => next,
                Err(_) => {
                    st.over = true;
                    st.pending
                        .push_back(Err(ProviderError::timeout(st.provider)));
                    continue;
                }
            };
            let mut out = Vec::new();
            let result = match next {
                Some(Ok(ev)) => st
                    .decoder
                    .on_event(&ev.event, &ev.data, &mut out)
                    .and_then(|()| {
                        if st.decoder.is_terminated() {
                            st.over = true;
                            st.decoder.finish(&mut out)
                        } else {
                            Ok(())
                        }
                    }),
                Some(Err(EventStreamError::Transport(e))) => Err(e),
                Some(Err(_)) => Err(ProviderError::server(format!(
                    "{} sent a malformed event stream",
                    st.provider
                ))),
                None => {
                    st.over = true;
                    st.decoder.finish(&mut out)
                }
            };
            st.pending.extend(out.into_iter().map(Ok));
            if let Err(e) = result {
                st.over = true;
                st.pending.push_back(Err(e));
            }
        }
    }))
}

/// Parse an SSE `data` payload as JSON, or fail as a malformed chunk.
pub(crate) fn json(provider: Provider, data: &str) -> Result<serde_json::Value, ProviderError> {
    serde_json::from_str(data)
        .map_err(|_| ProviderError::server(format!("{provider} sent a malformed stream chunk")))
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Run `decoder` over an SSE text delivered in small chunks, collecting every item.
    pub(crate) async fn run<D: Decoder>(
        provider: Provider,
        text: &str,
        decoder: D,
    ) -> Vec<Result<StreamEvent, ProviderError>> {
        let chunks: Vec<Result<Bytes, ProviderError>> = text
            .as_bytes()
            .chunks(7)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        drive(
            provider,
            futures::stream::iter(chunks),
            decoder,
            Duration::from_secs(5),
        )
        .collect()
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::ErrorClass;

    /// Echoes data as JSON; terminated by `event: end`.
    struct Echo {
        done: bool,
    }

    impl Decoder for Echo {
        fn on_event(
            &mut self,
            event: &str,
            data: &str,
            out: &mut Vec<StreamEvent>,
        ) -> Result<(), ProviderError> {
            if event == "end" {
                self.done = true;
            } else {
                out.push(StreamEvent::new(None, json(Provider::OpenAi, data)?));
            }
            Ok(())
        }
        fn is_terminated(&self) -> bool {
            self.done
        }
        fn finish(&mut self, _: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
            if self.done {
                Ok(())
            } else {
                Err(ProviderError::cut(Provider::OpenAi))
            }
        }
    }

    #[tokio::test]
    async fn events_then_terminator() {
        let items = testing::run(
            Provider::OpenAi,
            "data: {\"a\":1}\n\ndata: {\"a\":2}\r\n\r\nevent: end\ndata: x\n\n",
            Echo { done: false },
        )
        .await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().unwrap().data, json!({"a": 2}));
    }

    #[tokio::test]
    async fn a_cut_stream_ends_with_an_error() {
        let items = testing::run(
            Provider::OpenAi,
            "data: {\"a\":1}\n\n",
            Echo { done: false },
        )
        .await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().unwrap_err().class, ErrorClass::Server);
    }

    #[tokio::test]
    async fn malformed_chunks_and_huge_events_fail() {
        let items = testing::run(Provider::OpenAi, "data: {nope\n\n", Echo { done: false }).await;
        assert_eq!(items.len(), 1);
        assert!(items[0].is_err());
        let huge = format!("data: \"{}\"\n\n", "x".repeat(MAX_SSE_EVENT + 10));
        let items = testing::run(Provider::OpenAi, &huge, Echo { done: false }).await;
        assert_eq!(items.len(), 1);
        assert!(
            items[0]
                .as_ref()
                .unwrap_err()
                .message
                .contains("larger than")
        );
    }

    #[tokio::test]
    async fn a_stalled_stream_times_out() {
        let stalled = futures::stream::iter(vec![Ok(Bytes::from_static(b"data: {}\n\n"))])
            .chain(futures::stream::pending());
        let items: Vec<_> = drive(
            Provider::OpenAi,
            stalled,
            Echo { done: false },
            Duration::from_millis(50),
        )
        .collect()
        .await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().unwrap_err().class, ErrorClass::Timeout);
    }
}
