//! The providers' wire formats, as the mocks write them.

pub mod anthropic;
pub mod count;
pub mod google;
pub mod openai;
pub mod responses;

use crate::behaviour::{Behaviour, MockUsage, ToolCallSpec};

/// What the mock answers, independent of format.
#[derive(Debug, Clone)]
pub struct Answer {
    pub model: String,
    pub text: String,
    pub reasoning: Option<String>,
    pub tool_call: Option<ToolCallSpec>,
    pub usage: MockUsage,
}

impl Answer {
    pub fn new(provider: &str, model: &str, b: &Behaviour) -> Self {
        let text = b.text_or_default(provider);
        Self {
            model: model.to_owned(),
            usage: b.usage_for(&text),
            text,
            reasoning: b.reasoning.clone(),
            tool_call: b.tool_call.clone(),
        }
    }

    /// The text in small pieces, as a stream sends it.
    pub fn pieces(&self) -> Vec<String> {
        let words: Vec<&str> = self.text.split_inclusive(' ').collect();
        words.chunks(2).map(|c| c.concat()).collect()
    }
}

/// One SSE event.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub event: Option<&'static str>,
    pub data: String,
}

impl Frame {
    pub fn data(data: impl ToString) -> Self {
        Self {
            event: None,
            data: data.to_string(),
        }
    }

    pub fn named(event: &'static str, data: impl ToString) -> Self {
        Self {
            event: Some(event),
            data: data.to_string(),
        }
    }

    pub fn encode(&self) -> String {
        match self.event {
            Some(e) => format!("event: {e}\ndata: {}\n\n", self.data),
            None => format!("data: {}\n\n", self.data),
        }
    }
}
