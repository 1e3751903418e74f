use std::net::SocketAddr;
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
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation and print its first admin API key (shown once) as JSON.
    Create {
        name: String,
        #[command(flatten)]
        backend: BackendArgs,
    },
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
