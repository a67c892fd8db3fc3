//! `yardstick serve`: the in-process model behind an OpenAI-compatible HTTP API.

use crate::args::ModelArgs;
use crate::commands::{load_model, session_options};
use anyhow::{Context, Result};
use clap::Args;
use yardstick_serve::{OpenAiServer, ServedModel};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Address to listen on; loopback unless you mean to expose the model.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The model id clients name (default: the GGUF file's name).
    #[arg(long)]
    pub name: Option<String>,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let (model, spec) = load_model(&args.model)?;
    let session = model.session(session_options(&args.model))?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| yardstick_models::Backend::name(&session).to_owned());
    let address = format!("{}:{}", args.host, args.port);
    let server = OpenAiServer::bind(&address).with_context(|| format!("cannot serve {spec}"))?;
    let bound = server.address().map_or(address, |a| a.to_string());
    // Scripts wait for this line to know the port.
    println!("serving {name} at http://{bound}/v1  (Ctrl-C stops it)");
    let mut served = ServedModel::new(&model, session, name);
    server.serve(&mut served);
    Ok(())
}
