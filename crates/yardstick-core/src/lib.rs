//! The plain data types that flow through yardstick's pipeline.
//!
//! A task turns dataset documents into [`Request`]s; a backend answers them with
//! [`LoglikelihoodResponse`]s; scoring turns those into metric values. Every type here
//! is serializable, so each arrow of the pipeline can be logged, cached and tested on
//! its own.
//!
//! ```
//! use yardstick_core::{LoglikelihoodRequest, Request, RequestKind};
//!
//! let request = Request::Loglikelihood(LoglikelihoodRequest::new("Question: 2+2?\nAnswer:", " 4"));
//! assert_eq!(request.kind(), RequestKind::Loglikelihood);
//! ```

mod fingerprint;
mod names;
mod python;
mod request;

pub use fingerprint::{sha256_file, sha256_hex, ModelFingerprint};
pub use names::{TaskName, DATA_DIR_ENV};
pub use python::{
    is_python_whitespace, python_capitalize, python_float, python_json_ascii, python_json_dumps,
    python_strip,
};
pub use request::{
    cut_at_stop, ApiCall, GenerateRequest, GenerateResponse, LogProb, LoglikelihoodRequest,
    LoglikelihoodResponse, Request, RequestKind, Sampling, StopReason, TokenId,
};
