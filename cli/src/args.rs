use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "byok", version, about = "Bring-your-own-key LLM gateway")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the whole HTTP API (every function's routes) on one address.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", env = "BYOK_ADDR")]
        addr: SocketAddr,
        /// Serving threads, each a single-threaded runtime with its own listening socket on the address
        /// (default: one per core this process may use; at most 256).
        #[arg(long, env = "BYOK_SERVE_THREADS", value_parser = serving_threads)]
        threads: Option<NonZeroUsize>,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// The operator's own provider keys, used by policy steps with key_source `platform`.
    PlatformKey {
        #[command(subcommand)]
        command: PlatformKeyCommand,
    },
    /// The operator's price table (USD per million tokens), used for `usage.cost` and spend limits.
    Price {
        #[command(subcommand)]
        command: PriceCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum PriceCommand {
    /// Set the price of MODEL (`<provider>/<model>`), or with `default` the price of every model not listed.
    Set {
        model: String,
        /// USD per million input tokens.
        #[arg(long)]
        input: f64,
        /// USD per million output tokens (reasoning included).
        #[arg(long)]
        output: f64,
        /// USD per million cached input tokens read (default: the input price).
        #[arg(long)]
        cache_read: Option<f64>,
        /// USD per million input tokens written to the provider's cache (default: the input price).
        #[arg(long)]
        cache_write: Option<f64>,
        /// USD per request, on top of the tokens.
        #[arg(long, default_value_t = 0.0)]
        per_request: f64,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Print the price table as a price file (the shape `import` reads).
    List {
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Merge a price file into the table (its `default` too, when set); without FILE, the shipped defaults.
    Import {
        file: Option<std::path::PathBuf>,
        /// Replace the whole table instead of merging.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        backend: BackendArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation and print its first admin API key (shown once) as JSON.
    Create {
        name: String,
        /// Let the org use the operator's platform keys (`on`/`off`; bare flag: on). Unset: the
        /// operator's default, `BYOK_PLATFORM_KEYS_DEFAULT`.
        #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "on")]
        platform_keys: Option<Switch>,
        /// USD per calendar month the org may spend on platform keys (0: no limit of its own).
        #[arg(long, allow_negative_numbers = true)]
        platform_limit: Option<f64>,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Change an organisation's platform-key entitlement; prints the org as JSON.
    Set {
        org_id: String,
        /// Whether the org may use the operator's platform keys.
        #[arg(long, value_enum)]
        platform_keys: Option<Switch>,
        /// USD per calendar month the org may spend on platform keys (0: no limit of its own).
        #[arg(long, allow_negative_numbers = true)]
        platform_limit: Option<f64>,
        #[command(flatten)]
        backend: BackendArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    pub fn enabled(self) -> bool {
        self == Switch::On
    }
}

#[derive(Debug, Subcommand)]
pub enum PlatformKeyCommand {
    /// Store the platform key for PROVIDER, read from standard input (never from argv).
    Set {
        provider: String,
        #[command(flatten)]
        backend: BackendArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    Local,
    Aws,
}

#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// `local`: embedded store and cipher under --data-dir. `aws`: DynamoDB table and KMS key.
    #[arg(long, value_enum, default_value = "local", env = "BYOK_BACKEND")]
    pub backend: BackendKind,
    #[arg(long, default_value = ".byok-data", env = "BYOK_DATA_DIR")]
    pub data_dir: PathBuf,
    #[arg(long, env = "BYOK_TABLE")]
    pub table: Option<String>,
    #[arg(long, env = "BYOK_KMS_KEY_ID")]
    pub kms_key_id: Option<String>,
}

/// The most serving threads `serve` starts.
const MAX_SERVING_THREADS: usize = 256;

fn serving_threads(text: &str) -> Result<NonZeroUsize, String> {
    text.parse::<NonZeroUsize>()
        .ok()
        .filter(|n| n.get() <= MAX_SERVING_THREADS)
        .ok_or_else(|| format!("a whole number from 1 to {MAX_SERVING_THREADS}"))
}
