//! The `o200k_base` tokenizer, built from our own copy of its vocabulary.
//!
//! `tiktoken-rs` embeds the vocabulary as 3.6 MB of base64 text, which made up most of the router binary's
//! growth when local token counts came in. `assets/o200k_base.zlib` holds the same 199,998 tokens as raw
//! bytes behind a one-byte length, in rank order, zlib-compressed (1.05 MB); it is unpacked once, on the first
//! count, so a process that never counts never pays for it. `assets/make_o200k.py` writes it; the test below
//! proves it is token for token the vocabulary `tiktoken-rs` ships.

use std::sync::LazyLock;

use tiktoken_rs::{CoreBPE, O200K_BASE_PAT_STR, Rank};

static PACKED: &[u8] = include_bytes!("../../assets/o200k_base.zlib");
/// The unpacked size is 1.6 MB; anything larger is not our asset.
const MAX_UNPACKED: usize = 4 << 20;
/// o200k_base's special tokens and their ranks (as `tiktoken-rs` and OpenAI's tiktoken define them).
const SPECIAL: [(&str, Rank); 2] = [("<|endoftext|>", 199_999), ("<|endofprompt|>", 200_018)];

static O200K: LazyLock<CoreBPE> = LazyLock::new(|| {
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(PACKED, MAX_UNPACKED)
        .expect("the compiled-in o200k_base vocabulary unpacks (checked by its test)");
    let encoder = tokens(&raw)
        .zip(0..)
        .map(|(token, rank)| (token.to_vec(), rank))
        .collect();
    let special = SPECIAL.iter().map(|(t, r)| ((*t).to_owned(), *r)).collect();
    CoreBPE::new(encoder, special, O200K_BASE_PAT_STR)
        .expect("the compiled-in o200k_base vocabulary builds a tokenizer (checked by its test)")
});

/// The tokenizer, built on first use.
pub fn o200k() -> &'static CoreBPE {
    &O200K
}

/// The length-prefixed tokens of the unpacked asset, in rank order.
fn tokens(mut raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let (&len, rest) = raw.split_first()?;
        let (token, rest) = rest.split_at_checked(usize::from(len))?;
        raw = rest;
        Some(token)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_vocabulary_as_tiktoken_rs() {
        let theirs = tiktoken_rs::o200k_base().unwrap();
        let ours = o200k();
        for rank in 0..=SPECIAL[1].1 {
            assert_eq!(
                ours.decode_bytes(&[rank]).ok(),
                theirs.decode_bytes(&[rank]).ok(),
                "rank {rank}"
            );
        }
        let text = "Hello, wörld! <|endoftext|> fn main() { println!(\"{}\", 42); }\n\n  日本語のテキスト 🦀";
        assert_eq!(ours.encode_ordinary(text), theirs.encode_ordinary(text));
        assert_eq!(
            ours.encode_with_special_tokens(text),
            theirs.encode_with_special_tokens(text)
        );
    }

    #[test]
    fn every_byte_of_the_asset_is_a_token() {
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(PACKED).unwrap();
        let consumed: usize = tokens(&raw).map(|t| t.len() + 1).sum();
        assert_eq!(consumed, raw.len());
        assert_eq!(tokens(&raw).count(), 199_998);
    }
}
