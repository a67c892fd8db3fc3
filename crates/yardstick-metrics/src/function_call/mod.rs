//! Function calling as the Berkeley Function Calling Leaderboard (BFCL, `bfcl-eval`
//! 2026.3.23) scores it for models prompted to write calls as Python: the answer text is
//! read as a Python list of calls ([`decode_calls`]), then checked against the
//! question's function docs and possible answers by BFCL's AST rules ([`check_calls`]):
//! function name, required and unexpected parameters, Python types (a tuple is not a
//! list, a bool is not an int), strings compared case- and punctuation-insensitively,
//! parallel calls in any order (matched greedily, as BFCL matches them). Irrelevance
//! questions are answered right when no call can be read ([`is_irrelevance_correct`]).

mod check;
mod decode;
mod value;

pub use check::{check_calls, is_irrelevance_correct, CheckOutcome, FunctionDoc};
pub use decode::{decode_calls, DecodeError};
pub use value::{Call, PyValue};
