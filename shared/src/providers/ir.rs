//! The neutral form every translation goes through: a chat request, a whole reply, and stream deltas.
//! Client formats parse into it and encode out of it; provider formats are emitted from it and parsed into it.

use serde_json::Value;

use super::Usage;

/// A chat request, independent of wire format.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// System prompt parts, in order (the top-level system prompt; instructions given mid-conversation are
    /// [`Role::System`] messages in place).
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub response_format: Option<ResponseFormat>,
    pub reasoning: Option<Reasoning>,
    pub stop: Vec<String>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<u64>,
    pub stream: bool,
    /// OpenAI `stream_options.include_usage` (the caller wants the usage chunk).
    pub include_usage: bool,
    /// End-user id (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
    /// Instructions inside the conversation (Anthropic's `system`-role messages, beta
    /// `mid-conversation-tool-changes-…`); holds text parts only. Targets without such messages fold them
    /// into their system prompt.
    System,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Image(Image),
    /// `arguments` is a JSON object as text (OpenAI's form).
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    ToolResult {
        id: String,
        /// The result's text (text blocks joined by a newline).
        content: String,
        is_error: bool,
        /// Images the tool returned (Anthropic `tool_result` content blocks).
        images: Vec<Image>,
    },
    Thinking {
        text: String,
        signature: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    Url(String),
    Base64 { media_type: String, data: String },
}

impl Image {
    /// Parse an OpenAI `image_url.url`: a `data:` URL becomes base64 data.
    pub fn from_url(url: &str) -> Self {
        if let Some(rest) = url.strip_prefix("data:")
            && let Some((meta, data)) = rest.split_once(',')
            && let Some(media_type) = meta.strip_suffix(";base64")
        {
            return Image::Base64 {
                media_type: media_type.to_owned(),
                data: data.to_owned(),
            };
        }
        Image::Url(url.to_owned())
    }

    pub fn to_url(&self) -> String {
        match self {
            Image::Url(u) => u.clone(),
            Image::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Named(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: bool,
    },
}

/// Reasoning asked for, as an effort level and an equivalent token budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reasoning {
    pub effort: Effort,
    pub budget_tokens: u64,
}

/// Reasoning effort levels: OpenAI's (`none`, `minimal`, `low`, `medium`, `high`, `xhigh`) and Requesty's
/// (`none` and its synonym `min`, `low`, `medium`, `high`, `max`), `xhigh` and `max` being one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// No reasoning where the model can skip it, else the least it does.
    None,
    Minimal,
    Low,
    Medium,
    High,
    /// The most the model supports.
    Max,
}

/// What `reasoning_effort` accepts, for error messages.
pub const EFFORT_VALUES: &str = "none, min, minimal, low, medium, high, xhigh, max, or a thinking budget in tokens such as \"10000\"";

impl Effort {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" | "min" => Effort::None,
            "minimal" => Effort::Minimal,
            "low" => Effort::Low,
            "medium" => Effort::Medium,
            "high" => Effort::High,
            "xhigh" | "max" => Effort::Max,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Effort::None => "none",
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::Max => "max",
        }
    }
}

impl Reasoning {
    /// A `reasoning_effort` value as Requesty documents it: an effort level (see [`Effort::parse`]) or a
    /// thinking budget as a string of digits (`"10000"`), whose effort follows Requesty's table
    /// (0-1024 low, 1025-8192 medium, above high). `None`: not a valid value.
    pub fn parse_effort(value: &str) -> Option<Self> {
        if let Some(effort) = Effort::parse(value) {
            return Some(Self::from_effort(effort));
        }
        if value.is_empty() || value.len() > 9 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let budget_tokens: u64 = value.parse().ok()?;
        let effort = match budget_tokens {
            0..=1024 => Effort::Low,
            1025..=8192 => Effort::Medium,
            _ => Effort::High,
        };
        Some(Self {
            effort,
            budget_tokens,
        })
    }

    /// Anthropic's `output_config.effort` (`low`, `medium`, `high`, `xhigh`, `max`) as the nearest level.
    pub fn from_anthropic_effort(effort: &str) -> Option<Self> {
        let effort = match effort {
            "low" => Effort::Low,
            "medium" => Effort::Medium,
            "high" | "xhigh" | "max" => Effort::High,
            _ => return None,
        };
        Some(Self::from_effort(effort))
    }

    /// `reasoning_effort` → thinking budget (Anthropic's minimum budget is 1024; Gemini Flash's maximum is
    /// 24576).
    pub fn from_effort(effort: Effort) -> Self {
        let budget_tokens = match effort {
            Effort::None => 0,
            Effort::Minimal => 1024,
            Effort::Low => 2048,
            Effort::Medium => 8192,
            Effort::High => 24576,
            Effort::Max => MAX_BUDGET,
        };
        Self {
            effort,
            budget_tokens,
        }
    }

    /// Thinking budget → the nearest `reasoning_effort`.
    pub fn from_budget(budget_tokens: u64) -> Self {
        let effort = match budget_tokens {
            0..=1024 => Effort::Minimal,
            1025..=4096 => Effort::Low,
            4097..=16384 => Effort::Medium,
            _ => Effort::High,
        };
        Self {
            effort,
            budget_tokens,
        }
    }
}

/// The largest thinking budget the gateway asks for (`max`): with room for the answer it stays within the
/// 32,000 output tokens of the smallest current Claude model.
pub const MAX_BUDGET: u64 = 30_720;

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}

impl Finish {
    pub fn openai(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
            Finish::ToolCalls => "tool_calls",
            Finish::ContentFilter => "content_filter",
        }
    }

    pub fn anthropic(self) -> &'static str {
        match self {
            Finish::Stop => "end_turn",
            Finish::Length => "max_tokens",
            Finish::ToolCalls => "tool_use",
            Finish::ContentFilter => "refusal",
        }
    }

    pub fn from_openai(s: &str) -> Self {
        match s {
            "length" => Finish::Length,
            "tool_calls" | "function_call" => Finish::ToolCalls,
            "content_filter" => Finish::ContentFilter,
            _ => Finish::Stop,
        }
    }

    pub fn from_anthropic(s: &str) -> Self {
        match s {
            "max_tokens" | "model_context_window_exceeded" => Finish::Length,
            "tool_use" => Finish::ToolCalls,
            "refusal" => Finish::ContentFilter,
            _ => Finish::Stop,
        }
    }
}

/// A whole answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub id: String,
    pub text: String,
    pub reasoning: String,
    pub reasoning_signature: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub finish: Finish,
    pub usage: Usage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON object as text.
    pub arguments: String,
}

/// One piece of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Start {
        id: String,
    },
    Text(String),
    Reasoning(String),
    ReasoningSignature(String),
    ToolStart {
        index: usize,
        id: String,
        name: String,
    },
    ToolArgs {
        index: usize,
        json: String,
    },
    Finish(Finish),
    /// Cumulative usage so far; the last one wins.
    Usage(Usage),
}

/// A fresh response id when the provider gave none.
pub fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_become_base64() {
        let img = Image::from_url("data:image/png;base64,AAAA");
        assert_eq!(
            img,
            Image::Base64 {
                media_type: "image/png".into(),
                data: "AAAA".into()
            }
        );
        assert_eq!(img.to_url(), "data:image/png;base64,AAAA");
        assert_eq!(
            Image::from_url("https://x/y.png"),
            Image::Url("https://x/y.png".into())
        );
    }

    #[test]
    fn requestys_effort_values_and_budget_strings_parse_and_others_do_not() {
        let cases = [
            ("none", Effort::None, 0),
            ("min", Effort::None, 0),
            ("minimal", Effort::Minimal, 1024),
            ("low", Effort::Low, 2048),
            ("medium", Effort::Medium, 8192),
            ("high", Effort::High, 24576),
            ("xhigh", Effort::Max, MAX_BUDGET),
            ("max", Effort::Max, MAX_BUDGET),
            ("1000", Effort::Low, 1000),
            ("1025", Effort::Medium, 1025),
            ("10000", Effort::High, 10000),
        ];
        for (value, effort, budget) in cases {
            let r = Reasoning::parse_effort(value).unwrap_or_else(|| panic!("{value}"));
            assert_eq!((r.effort, r.budget_tokens), (effort, budget), "{value}");
        }
        for bad in [
            "",
            "HIGH",
            "extreme",
            "-1",
            "1e4",
            "10 000",
            "9999999999",
            "medium ",
        ] {
            assert_eq!(Reasoning::parse_effort(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn effort_and_budget_round_trip() {
        for e in [Effort::Minimal, Effort::Low, Effort::Medium, Effort::High] {
            // (none and max are ends of the scale: none has no budget, max's budget reads back as high)
            let r = Reasoning::from_effort(e);
            assert_eq!(Reasoning::from_budget(r.budget_tokens).effort, e);
        }
    }
}
