//! `{"object": "list", "data": [...]}`, the envelope of every list response (OpenAI's shape).

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    #[schema(example = "list")]
    object: &'static str,
    data: Vec<T>,
}

impl<T> List<T> {
    pub fn new(data: Vec<T>) -> Self {
        List {
            object: "list",
            data,
        }
    }
}
