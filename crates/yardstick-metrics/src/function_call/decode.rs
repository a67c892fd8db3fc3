//! BFCL's `default_decode_ast_prompting`: a model's text read as a Python list of calls.
//!
//! The text is trimmed of backticks, newlines and spaces, wrapped in `[...]` when it is
//! not already, and parsed as one Python expression (a small Python expression parser:
//! literals with all of Python's string and number forms, names, attributes, calls,
//! subscripts, displays, operators). Each element must be a call; its keyword arguments
//! are resolved as BFCL resolves them (a bare name is its identifier as a string, an
//! arithmetic expression is evaluated, any unary operator negates a constant, a call
//! without keywords or a subscript becomes its source text); anything else fails.

use super::value::{Call, PyValue};

/// Why a text could not be read as calls (BFCL then scores the answer as a decode
/// failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode the calls: {0}")]
pub struct DecodeError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(message.into()))
}

/// The calls in a model's answer, as BFCL decodes a prompted model's Python output.
pub fn decode_calls(text: &str) -> Result<Vec<Call>, DecodeError> {
    let trimmed = text.trim_matches(|c| c == '`' || c == '\n' || c == ' ');
    let mut source = String::with_capacity(trimmed.len() + 2);
    if !trimmed.starts_with('[') {
        source.push('[');
    }
    source.push_str(trimmed);
    if !trimmed.ends_with(']') {
        source.push(']');
    }
    let tokens = tokenize(&source)?;
    let mut parser = Parser { tokens, at: 0 };
    let expr = parser.expression()?;
    if parser.peek() != &Token::End {
        return fail("trailing text after the expression");
    }
    let elements = match expr {
        Expr::List(items) | Expr::Tuple(items) | Expr::Set(items) => items,
        _ => return fail("not a list of calls"),
    };
    elements
        .into_iter()
        .map(|element| match element {
            Expr::Call { func, keywords, .. } => call_of(&func, keywords),
            _ => fail("an element is not a call"),
        })
        .collect()
}

/// A call's name (its attribute chain; an inner call or subscript is dropped) and its
/// resolved keyword arguments.
fn call_of(func: &Expr, keywords: Vec<(Option<String>, Expr)>) -> Result<Call, DecodeError> {
    let mut parts = Vec::new();
    let mut node = func;
    loop {
        match node {
            Expr::Attribute(inner, attr) => {
                parts.push(attr.clone());
                node = inner;
            }
            Expr::Name(name) => {
                parts.push(name.clone());
                break;
            }
            _ => break,
        }
    }
    parts.reverse();
    let mut arguments: Vec<(Option<String>, PyValue)> = Vec::new();
    for (key, value) in keywords {
        let value = resolve(&value)?;
        match arguments.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => arguments.push((key, value)),
        }
    }
    Ok(Call {
        name: parts.join("."),
        arguments,
    })
}

/// BFCL's `resolve_ast_by_type`.
fn resolve(expr: &Expr) -> Result<PyValue, DecodeError> {
    match expr {
        Expr::Constant(c) => c.value(),
        // Whatever the operator, BFCL negates a constant operand.
        Expr::UnaryOp(_, operand) => match operand.as_ref() {
            Expr::Constant(c) => match c.value()? {
                PyValue::Int(i) => i
                    .checked_neg()
                    .map(PyValue::Int)
                    .ok_or_else(|| DecodeError("integer too large".into())),
                PyValue::Bool(b) => Ok(PyValue::Int(-i64::from(b))),
                PyValue::Float(f) => Ok(PyValue::Float(-f)),
                _ => fail("bad operand type for unary operator"),
            },
            _ => fail("a unary operator on a non-constant"),
        },
        Expr::List(items) => Ok(PyValue::List(
            items.iter().map(resolve).collect::<Result<_, _>>()?,
        )),
        Expr::Tuple(items) => Ok(PyValue::Tuple(
            items.iter().map(resolve).collect::<Result<_, _>>()?,
        )),
        Expr::Dict(pairs) => Ok(PyValue::Dict(
            pairs
                .iter()
                .map(|(k, v)| match k {
                    Some(k) => Ok((resolve(k)?, resolve(v)?)),
                    None => fail("a ** inside a dict display"),
                })
                .collect::<Result<_, _>>()?,
        )),
        Expr::Binary(left, op, right) => evaluate(left, *op, right),
        Expr::Name(name) => Ok(PyValue::Str(name.clone())),
        Expr::Call {
            func,
            args,
            keywords,
        } => {
            if keywords.is_empty() {
                Ok(PyValue::Str(unparse(expr)?))
            } else {
                let call = call_of(func, keywords.clone())?;
                let _ = args;
                Ok(PyValue::Dict(vec![(
                    PyValue::Str(call.name),
                    PyValue::Dict(
                        call.arguments
                            .into_iter()
                            .map(|(k, v)| (k.map_or(PyValue::None, PyValue::Str), v))
                            .collect(),
                    ),
                )]))
            }
        }
        Expr::Subscript(..) => Ok(PyValue::Str(unparse(expr)?)),
        _ => fail("unsupported expression"),
    }
}

/// Python's `eval` of an arithmetic expression over constants and displays.
fn evaluate(left: &Expr, op: BinOp, right: &Expr) -> Result<PyValue, DecodeError> {
    let value = |e: &Expr| -> Result<PyValue, DecodeError> {
        match e {
            Expr::Binary(l, o, r) => evaluate(l, *o, r),
            Expr::Constant(c) => c.value(),
            // eval applies the operator for real: `-x` negates, `+x` keeps.
            Expr::UnaryOp(..) | Expr::List(_) | Expr::Tuple(_) => eval_plain(e),
            _ => fail("a name or call inside an arithmetic expression"),
        }
    };
    apply(value(left)?, op, value(right)?)
}

/// Python's `eval` of an operand (no names).
fn eval_plain(expr: &Expr) -> Result<PyValue, DecodeError> {
    match expr {
        Expr::Constant(c) => c.value(),
        Expr::Binary(l, o, r) => evaluate(l, *o, r),
        Expr::UnaryOp(op, operand) => {
            let v = eval_plain(operand)?;
            match (op, v) {
                ('-', PyValue::Int(i)) => Ok(PyValue::Int(-i)),
                ('-', PyValue::Bool(b)) => Ok(PyValue::Int(-i64::from(b))),
                ('-', PyValue::Float(f)) => Ok(PyValue::Float(-f)),
                ('+', PyValue::Bool(b)) => Ok(PyValue::Int(i64::from(b))),
                ('+', v @ (PyValue::Int(_) | PyValue::Float(_))) => Ok(v),
                ('~', PyValue::Int(i)) => Ok(PyValue::Int(!i)),
                ('~', PyValue::Bool(b)) => Ok(PyValue::Int(!i64::from(b))),
                ('n', v) => Ok(PyValue::Bool(!truthy(&v))),
                _ => fail("unsupported unary operand"),
            }
        }
        Expr::List(items) => Ok(PyValue::List(
            items.iter().map(eval_plain).collect::<Result<_, _>>()?,
        )),
        Expr::Tuple(items) => Ok(PyValue::Tuple(
            items.iter().map(eval_plain).collect::<Result<_, _>>()?,
        )),
        _ => fail("unsupported operand"),
    }
}

fn apply(left: PyValue, op: BinOp, right: PyValue) -> Result<PyValue, DecodeError> {
    use PyValue::{Bool, Float, Int, List, Str, Tuple};
    let as_int = |v: &PyValue| match v {
        Int(i) => Some(*i),
        Bool(b) => Some(i64::from(*b)),
        _ => None,
    };
    let as_float = |v: &PyValue| match v {
        Float(f) => Some(*f),
        other => as_int(other).map(|i| i as f64),
    };
    let overflow = || DecodeError("integer overflow".into());
    if let (Some(a), Some(b)) = (as_int(&left), as_int(&right)) {
        return match op {
            BinOp::Add => a.checked_add(b).map(Int).ok_or_else(overflow),
            BinOp::Sub => a.checked_sub(b).map(Int).ok_or_else(overflow),
            BinOp::Mul => a.checked_mul(b).map(Int).ok_or_else(overflow),
            BinOp::Div if b != 0 => Ok(Float(a as f64 / b as f64)),
            BinOp::FloorDiv if b != 0 => Ok(Int(
                a.div_euclid(b) - i64::from(b < 0 && a.rem_euclid(b) != 0)
            )),
            BinOp::Mod if b != 0 => Ok(Int(((a % b) + b) % b)),
            BinOp::Pow if b >= 0 => u32::try_from(b)
                .ok()
                .and_then(|e| a.checked_pow(e))
                .map(Int)
                .ok_or_else(overflow),
            BinOp::Pow => Ok(Float((a as f64).powf(b as f64))),
            _ => fail("division by zero or unsupported operator"),
        };
    }
    if let (Some(a), Some(b)) = (as_float(&left), as_float(&right)) {
        return match op {
            BinOp::Add => Ok(Float(a + b)),
            BinOp::Sub => Ok(Float(a - b)),
            BinOp::Mul => Ok(Float(a * b)),
            BinOp::Div if b != 0.0 => Ok(Float(a / b)),
            BinOp::FloorDiv if b != 0.0 => Ok(Float((a / b).floor())),
            BinOp::Mod if b != 0.0 => Ok(Float(a - b * (a / b).floor())),
            BinOp::Pow => Ok(Float(a.powf(b))),
            _ => fail("division by zero or unsupported operator"),
        };
    }
    match (left, op, right) {
        (Str(a), BinOp::Add, Str(b)) => Ok(Str(a + &b)),
        (Str(s), BinOp::Mul, n) | (n, BinOp::Mul, Str(s)) => match as_int(&n) {
            Some(k) => Ok(Str(s.repeat(k.max(0) as usize))),
            None => fail("unsupported operand types"),
        },
        (List(a), BinOp::Add, List(b)) => Ok(List([a, b].concat())),
        (Tuple(a), BinOp::Add, Tuple(b)) => Ok(Tuple([a, b].concat())),
        _ => fail("unsupported operand types"),
    }
}

/// A constant literal.
#[derive(Debug, Clone, PartialEq)]
enum Constant {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Ellipsis,
    /// A literal Python has and BFCL would keep (bytes, complex, a huge integer), which
    /// yardstick does not represent.
    Other(String),
}

impl Constant {
    fn value(&self) -> Result<PyValue, DecodeError> {
        Ok(match self {
            Constant::None => PyValue::None,
            Constant::Bool(b) => PyValue::Bool(*b),
            Constant::Int(i) => PyValue::Int(*i),
            Constant::Float(f) => PyValue::Float(*f),
            Constant::Str(s) => PyValue::Str(s.clone()),
            Constant::Ellipsis => PyValue::Str("...".into()),
            Constant::Other(what) => return fail(format!("unsupported literal {what}")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    MatMul,
    LShift,
    RShift,
    BitAnd,
    BitOr,
    BitXor,
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
            BinOp::MatMul => "@",
            BinOp::LShift => "<<",
            BinOp::RShift => ">>",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
        }
    }

    /// ast.unparse's precedence (higher binds tighter).
    fn precedence(self) -> u8 {
        match self {
            BinOp::BitOr => 1,
            BinOp::BitXor => 2,
            BinOp::BitAnd => 3,
            BinOp::LShift | BinOp::RShift => 4,
            BinOp::Add | BinOp::Sub => 5,
            BinOp::Mul | BinOp::Div | BinOp::FloorDiv | BinOp::Mod | BinOp::MatMul => 6,
            BinOp::Pow => 8,
        }
    }
}

/// The parsed expression; constructs Python parses but BFCL cannot resolve are kept as
/// `Unsupported` (they only matter where they are never resolved: positional arguments).
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Constant(Constant),
    Name(String),
    Attribute(Box<Expr>, String),
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        keywords: Vec<(Option<String>, Expr)>,
    },
    Subscript(Box<Expr>, Box<Expr>),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Set(Vec<Expr>),
    Dict(Vec<(Option<Expr>, Expr)>),
    /// A unary operator (`-`, `+`, `~`, or `n` for `not`) and its operand.
    UnaryOp(char, Box<Expr>),
    Binary(Box<Expr>, BinOp, Box<Expr>),
    Unsupported,
}

/// `ast.unparse` of the forms BFCL turns into strings (calls without keywords,
/// subscripts) and of what they may hold.
fn unparse(expr: &Expr) -> Result<String, DecodeError> {
    Ok(match expr {
        Expr::Constant(c) => match c {
            Constant::None => "None".into(),
            Constant::Bool(true) => "True".into(),
            Constant::Bool(false) => "False".into(),
            Constant::Int(i) => i.to_string(),
            Constant::Float(f) => yardstick_core::python_float(*f),
            Constant::Str(s) => python_str_repr(s),
            Constant::Ellipsis => "...".into(),
            Constant::Other(what) => return fail(format!("cannot unparse {what}")),
        },
        Expr::Name(n) => n.clone(),
        Expr::Attribute(inner, attr) => format!("{}.{attr}", unparse(inner)?),
        Expr::Call {
            func,
            args,
            keywords,
        } => {
            let mut parts: Vec<String> = args.iter().map(unparse).collect::<Result<_, _>>()?;
            for (k, v) in keywords {
                parts.push(match k {
                    Some(k) => format!("{k}={}", unparse(v)?),
                    None => format!("**{}", unparse(v)?),
                });
            }
            format!("{}({})", unparse(func)?, parts.join(", "))
        }
        Expr::Subscript(value, index) => {
            let index = match index.as_ref() {
                Expr::Tuple(items) if !items.is_empty() => items
                    .iter()
                    .map(unparse)
                    .collect::<Result<Vec<_>, _>>()?
                    .join(", "),
                other => unparse(other)?,
            };
            format!("{}[{index}]", unparse(value)?)
        }
        Expr::List(items) => format!("[{}]", join(items)?),
        Expr::Set(items) => format!("{{{}}}", join(items)?),
        Expr::Tuple(items) if items.len() == 1 => format!("({},)", unparse(&items[0])?),
        Expr::Tuple(items) => format!("({})", join(items)?),
        Expr::Dict(pairs) => {
            let parts: Vec<String> = pairs
                .iter()
                .map(|(k, v)| match k {
                    Some(k) => Ok(format!("{}: {}", unparse(k)?, unparse(v)?)),
                    None => Ok(format!("**{}", unparse(v)?)),
                })
                .collect::<Result<_, DecodeError>>()?;
            format!("{{{}}}", parts.join(", "))
        }
        Expr::UnaryOp(op, operand) => {
            let operand = match operand.as_ref() {
                Expr::Binary(..) => format!("({})", unparse(operand)?),
                other => unparse(other)?,
            };
            match op {
                'n' => format!("not {operand}"),
                op => format!("{op}{operand}"),
            }
        }
        Expr::Binary(left, op, right) => {
            let side = |e: &Expr, strict: bool| -> Result<String, DecodeError> {
                let text = unparse(e)?;
                Ok(match e {
                    Expr::Binary(_, inner, _)
                        if inner.precedence() < op.precedence()
                            || (strict && inner.precedence() == op.precedence()) =>
                    {
                        format!("({text})")
                    }
                    _ => text,
                })
            };
            // `**` is right-associative; the others left.
            let (l, r) = if *op == BinOp::Pow {
                (side(left, true)?, side(right, false)?)
            } else {
                (side(left, false)?, side(right, true)?)
            };
            format!("{l} {} {r}", op.symbol())
        }
        Expr::Unsupported => return fail("cannot unparse this expression"),
    })
}

fn join(items: &[Expr]) -> Result<String, DecodeError> {
    Ok(items
        .iter()
        .map(unparse)
        .collect::<Result<Vec<_>, _>>()?
        .join(", "))
}

/// Python's `repr` of a string.
pub(crate) fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (0x80..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Number(Constant),
    Str(String),
    /// A bytes literal or an f-string: parsed, never resolvable.
    OtherStr,
    Op(&'static str),
    End,
}

const OPERATORS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "->", ":=", "**", "//", "<<", ">>", "<=", ">=", "==", "!=",
    "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "(", ")", "[", "]", "{", "}", ",", ":",
    ".", ";", "+", "-", "*", "/", "%", "&", "|", "^", "~", "<", ">", "=", "@",
];

fn tokenize(source: &str) -> Result<Vec<Token>, DecodeError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut depth: i32 = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' || c == '\t' || c == '\x0c' {
            i += 1;
            continue;
        }
        if c == '\n' || c == '\r' {
            if depth <= 0 {
                return fail("a line break outside brackets");
            }
            i += 1;
            continue;
        }
        if c == '\\' && matches!(chars.get(i + 1), Some('\n')) {
            i += 2;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == '.'
                    || ((chars[i] == '+' || chars[i] == '-')
                        && matches!(chars[i - 1], 'e' | 'E')
                        && !chars[start..i].iter().any(|c| matches!(c, 'x' | 'X'))))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push(Token::Number(number(&text)?));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if let Some(&quote) = chars.get(i).filter(|q| **q == '\'' || **q == '"') {
                let prefix = word.to_ascii_lowercase();
                if ["r", "u", "b", "br", "rb", "f", "fr", "rf"].contains(&prefix.as_str()) {
                    let (text, next) = string_literal(&chars, i, quote, prefix.contains('r'))?;
                    i = next;
                    push_string(
                        &mut tokens,
                        if prefix.contains('b') || prefix.contains('f') {
                            Token::OtherStr
                        } else {
                            Token::Str(text)
                        },
                    )?;
                    continue;
                }
            }
            tokens.push(Token::Name(word));
            continue;
        }
        if c == '\'' || c == '"' {
            let (text, next) = string_literal(&chars, i, c, false)?;
            i = next;
            push_string(&mut tokens, Token::Str(text))?;
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
        let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) else {
            return fail(format!("unexpected character {c:?}"));
        };
        match *op {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth -= 1,
            _ => {}
        }
        tokens.push(Token::Op(op));
        i += op.chars().count();
    }
    tokens.push(Token::End);
    Ok(tokens)
}

/// Adjacent string literals are one (Python's implicit concatenation); str and bytes do
/// not mix.
fn push_string(tokens: &mut Vec<Token>, token: Token) -> Result<(), DecodeError> {
    match (tokens.last_mut(), token) {
        (Some(Token::Str(previous)), Token::Str(next)) => previous.push_str(&next),
        (Some(last @ (Token::Str(_) | Token::OtherStr)), Token::OtherStr) => {
            *last = Token::OtherStr
        }
        (Some(Token::OtherStr), Token::Str(_)) => {}
        (_, token) => tokens.push(token),
    }
    Ok(())
}

/// A string literal starting at `start` (the opening quote); returns its value and the
/// index after it.
fn string_literal(
    chars: &[char],
    start: usize,
    quote: char,
    raw: bool,
) -> Result<(String, usize), DecodeError> {
    let triple = chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote);
    let mut i = start + if triple { 3 } else { 1 };
    let mut out = String::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return fail("an unterminated string");
        };
        if c == quote {
            if !triple {
                return Ok((out, i + 1));
            }
            if chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote) {
                return Ok((out, i + 3));
            }
        }
        if (c == '\n' || c == '\r') && !triple {
            return fail("a line break inside a string");
        }
        if c == '\\' {
            let Some(&next) = chars.get(i + 1) else {
                return fail("an unterminated string");
            };
            if raw {
                out.push('\\');
                out.push(next);
                i += 2;
                continue;
            }
            i += 2;
            match next {
                '\n' => {}
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                '0'..='7' => {
                    let mut value = next.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.get(i).and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                value = value * 8 + d;
                                i += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(
                        char::from_u32(value)
                            .ok_or_else(|| DecodeError("bad octal escape".into()))?,
                    );
                }
                'x' | 'u' | 'U' => {
                    let width = match next {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let digits: String = chars
                        .get(i..i + width)
                        .map(|d| d.iter().collect())
                        .unwrap_or_default();
                    let value = u32::from_str_radix(&digits, 16)
                        .ok()
                        .filter(|_| digits.len() == width)
                        .and_then(char::from_u32)
                        .ok_or_else(|| DecodeError("a truncated escape".into()))?;
                    out.push(value);
                    i += width;
                }
                'N' => return fail("named unicode escapes are not read"),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
}

fn number(text: &str) -> Result<Constant, DecodeError> {
    let clean = text.replace('_', "");
    if text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return fail("a badly placed underscore in a number");
    }
    let lower = clean.to_ascii_lowercase();
    if lower.ends_with('j') {
        return Ok(Constant::Other("complex".into()));
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            return match i64::from_str_radix(digits, radix) {
                Ok(v) => Ok(Constant::Int(v)),
                Err(_) if !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix)) => {
                    Ok(Constant::Other("a large integer".into()))
                }
                Err(_) => fail(format!("bad number {text}")),
            };
        }
    }
    if lower.contains(['.', 'e']) {
        return lower
            .parse::<f64>()
            .map(Constant::Float)
            .map_err(|_| DecodeError(format!("bad number {text}")));
    }
    if lower.len() > 1 && lower.starts_with('0') && lower.chars().any(|c| c != '0') {
        return fail("leading zeros in a decimal integer");
    }
    match lower.parse::<i64>() {
        Ok(v) => Ok(Constant::Int(v)),
        Err(_) if lower.chars().all(|c| c.is_ascii_digit()) => {
            Ok(Constant::Other("a large integer".into()))
        }
        Err(_) => fail(format!("bad number {text}")),
    }
}

const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        self.tokens.get(self.at).unwrap_or(&Token::End)
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        self.at += 1;
        token
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Token::Op(o) if *o == op)
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Name(w) if w == word)
    }

    fn expect(&mut self, op: &str) -> Result<(), DecodeError> {
        if self.is_op(op) {
            self.at += 1;
            Ok(())
        } else {
            fail(format!("expected {op}"))
        }
    }

    /// `expression`: lambda, or a disjunction with an optional `if ... else ...`.
    fn expression(&mut self) -> Result<Expr, DecodeError> {
        if self.is_word("lambda") {
            self.at += 1;
            while !self.is_op(":") {
                if self.peek() == &Token::End {
                    return fail("an unterminated lambda");
                }
                self.at += 1;
            }
            self.at += 1;
            self.expression()?;
            return Ok(Expr::Unsupported);
        }
        let value = self.disjunction()?;
        if self.is_word("if") {
            self.at += 1;
            self.disjunction()?;
            if !self.is_word("else") {
                return fail("expected else");
            }
            self.at += 1;
            self.expression()?;
            return Ok(Expr::Unsupported);
        }
        Ok(value)
    }

    fn disjunction(&mut self) -> Result<Expr, DecodeError> {
        let mut value = self.conjunction()?;
        while self.is_word("or") {
            self.at += 1;
            self.conjunction()?;
            value = Expr::Unsupported;
        }
        Ok(value)
    }

    fn conjunction(&mut self) -> Result<Expr, DecodeError> {
        let mut value = self.inversion()?;
        while self.is_word("and") {
            self.at += 1;
            self.inversion()?;
            value = Expr::Unsupported;
        }
        Ok(value)
    }

    fn inversion(&mut self) -> Result<Expr, DecodeError> {
        if self.is_word("not") {
            self.at += 1;
            let operand = self.inversion()?;
            return Ok(unary('n', operand));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, DecodeError> {
        let mut value = self.binary(0)?;
        loop {
            let is_comparison = ["<", ">", "==", ">=", "<=", "!="]
                .iter()
                .any(|op| self.is_op(op))
                || self.is_word("in")
                || self.is_word("is")
                || (self.is_word("not")
                    && matches!(self.tokens.get(self.at + 1), Some(Token::Name(w)) if w == "in"));
            if !is_comparison {
                return Ok(value);
            }
            if self.is_word("not")
                || (self.is_word("is")
                    && matches!(self.tokens.get(self.at + 1), Some(Token::Name(w)) if w == "not"))
            {
                self.at += 1;
            }
            self.at += 1;
            self.binary(0)?;
            value = Expr::Unsupported;
        }
    }

    /// Binary operators by precedence level (`|` lowest, then `^`, `&`, shifts,
    /// `+ -`, `* / // % @`), then unary operators and `**`.
    fn binary(&mut self, level: usize) -> Result<Expr, DecodeError> {
        const LEVELS: &[&[(&str, BinOp)]] = &[
            &[("|", BinOp::BitOr)],
            &[("^", BinOp::BitXor)],
            &[("&", BinOp::BitAnd)],
            &[("<<", BinOp::LShift), (">>", BinOp::RShift)],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[
                ("*", BinOp::Mul),
                ("/", BinOp::Div),
                ("//", BinOp::FloorDiv),
                ("%", BinOp::Mod),
                ("@", BinOp::MatMul),
            ],
        ];
        let Some(ops) = LEVELS.get(level) else {
            return self.factor();
        };
        let mut value = self.binary(level + 1)?;
        loop {
            let Some(&(_, op)) = ops.iter().find(|(symbol, _)| self.is_op(symbol)) else {
                return Ok(value);
            };
            self.at += 1;
            let right = self.binary(level + 1)?;
            value = Expr::Binary(Box::new(value), op, Box::new(right));
        }
    }

    fn factor(&mut self) -> Result<Expr, DecodeError> {
        for op in ['-', '+', '~'] {
            if self.is_op(&op.to_string()) {
                self.at += 1;
                let operand = self.factor()?;
                return Ok(unary(op, operand));
            }
        }
        let base = self.primary()?;
        if self.is_op("**") {
            self.at += 1;
            let exponent = self.factor()?;
            return Ok(Expr::Binary(Box::new(base), BinOp::Pow, Box::new(exponent)));
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Expr, DecodeError> {
        let mut value = self.atom()?;
        loop {
            if self.is_op(".") {
                self.at += 1;
                match self.next() {
                    Token::Name(name) if !KEYWORDS.contains(&name.as_str()) => {
                        value = Expr::Attribute(Box::new(value), name);
                    }
                    _ => return fail("expected a name after ."),
                }
            } else if self.is_op("(") {
                self.at += 1;
                value = self.call_arguments(value)?;
            } else if self.is_op("[") {
                self.at += 1;
                let index = self.subscript()?;
                self.expect("]")?;
                value = Expr::Subscript(Box::new(value), Box::new(index));
            } else {
                return Ok(value);
            }
        }
    }

    fn subscript(&mut self) -> Result<Expr, DecodeError> {
        let mut items = Vec::new();
        loop {
            let item = if self.is_op(":") || self.is_op("]") {
                Expr::Unsupported
            } else {
                self.expression()?
            };
            let item = if self.is_op(":") {
                // A slice: parsed, never resolvable or unparsed here.
                while self.is_op(":") {
                    self.at += 1;
                    if !self.is_op(":") && !self.is_op("]") && !self.is_op(",") {
                        self.expression()?;
                    }
                }
                Expr::Unsupported
            } else {
                item
            };
            items.push(item);
            if self.is_op(",") {
                self.at += 1;
                if self.is_op("]") {
                    return Ok(Expr::Tuple(items));
                }
                continue;
            }
            return Ok(if items.len() == 1 {
                items.remove(0)
            } else {
                Expr::Tuple(items)
            });
        }
    }

    fn call_arguments(&mut self, func: Expr) -> Result<Expr, DecodeError> {
        let mut args = Vec::new();
        let mut keywords = Vec::new();
        while !self.is_op(")") {
            if self.is_op("**") {
                self.at += 1;
                keywords.push((None, self.expression()?));
            } else if self.is_op("*") {
                self.at += 1;
                self.expression()?;
                args.push(Expr::Unsupported);
            } else if matches!(self.peek(), Token::Name(w) if !KEYWORDS.contains(&w.as_str()))
                && matches!(self.tokens.get(self.at + 1), Some(Token::Op("=")))
            {
                let Token::Name(name) = self.next() else {
                    return fail("expected a keyword");
                };
                self.at += 1;
                keywords.push((Some(name), self.expression()?));
            } else {
                let arg = self.expression()?;
                if !keywords.is_empty() {
                    return fail("a positional argument after a keyword argument");
                }
                if self.is_word("for") {
                    self.comprehension_tail()?;
                    args.push(Expr::Unsupported);
                } else {
                    args.push(arg);
                }
            }
            if self.is_op(",") {
                self.at += 1;
            } else if !self.is_op(")") {
                return fail("expected , or ) in a call");
            }
        }
        self.at += 1;
        Ok(Expr::Call {
            func: Box::new(func),
            args,
            keywords,
        })
    }

    /// `for target in iterable [if condition]...` after a comprehension's element.
    fn comprehension_tail(&mut self) -> Result<(), DecodeError> {
        while self.is_word("for") || self.is_word("async") {
            if self.is_word("async") {
                self.at += 1;
            }
            self.at += 1;
            // The target: names, attributes, tuples, up to `in`.
            while !self.is_word("in") {
                if self.peek() == &Token::End {
                    return fail("an unterminated comprehension");
                }
                self.at += 1;
            }
            self.at += 1;
            self.disjunction()?;
            while self.is_word("if") {
                self.at += 1;
                self.disjunction()?;
            }
        }
        Ok(())
    }

    fn atom(&mut self) -> Result<Expr, DecodeError> {
        match self.next() {
            Token::Number(c) => Ok(Expr::Constant(c)),
            Token::Str(s) => Ok(Expr::Constant(Constant::Str(s))),
            Token::OtherStr => Ok(Expr::Constant(Constant::Other("bytes or f-string".into()))),
            Token::Name(word) => match word.as_str() {
                "None" => Ok(Expr::Constant(Constant::None)),
                "True" => Ok(Expr::Constant(Constant::Bool(true))),
                "False" => Ok(Expr::Constant(Constant::Bool(false))),
                w if KEYWORDS.contains(&w) => fail(format!("unexpected keyword {w}")),
                _ => Ok(Expr::Name(word)),
            },
            Token::Op("...") => Ok(Expr::Constant(Constant::Ellipsis)),
            Token::Op("(") => {
                if self.is_op(")") {
                    self.at += 1;
                    return Ok(Expr::Tuple(Vec::new()));
                }
                let first = self.starred_or_expression()?;
                if self.is_word("for") {
                    self.comprehension_tail()?;
                    self.expect(")")?;
                    return Ok(Expr::Unsupported);
                }
                if self.is_op(")") {
                    self.at += 1;
                    return Ok(first);
                }
                let mut items = vec![first];
                while self.is_op(",") {
                    self.at += 1;
                    if self.is_op(")") {
                        break;
                    }
                    items.push(self.starred_or_expression()?);
                }
                self.expect(")")?;
                Ok(Expr::Tuple(items))
            }
            Token::Op("[") => {
                let mut items = Vec::new();
                while !self.is_op("]") {
                    items.push(self.starred_or_expression()?);
                    if items.len() == 1 && self.is_word("for") {
                        self.comprehension_tail()?;
                        self.expect("]")?;
                        return Ok(Expr::Unsupported);
                    }
                    if self.is_op(",") {
                        self.at += 1;
                    } else if !self.is_op("]") {
                        return fail("expected , or ] in a list");
                    }
                }
                self.at += 1;
                Ok(Expr::List(items))
            }
            Token::Op("{") => self.braces(),
            other => fail(format!("unexpected {other:?}")),
        }
    }

    fn starred_or_expression(&mut self) -> Result<Expr, DecodeError> {
        if self.is_op("*") {
            self.at += 1;
            self.binary(0)?;
            return Ok(Expr::Unsupported);
        }
        self.expression()
    }

    /// A dict or set display (or comprehension) after `{`.
    fn braces(&mut self) -> Result<Expr, DecodeError> {
        if self.is_op("}") {
            self.at += 1;
            return Ok(Expr::Dict(Vec::new()));
        }
        let mut pairs: Vec<(Option<Expr>, Expr)> = Vec::new();
        let mut set: Vec<Expr> = Vec::new();
        let mut is_dict = None;
        while !self.is_op("}") {
            if self.is_op("**") {
                self.at += 1;
                if is_dict == Some(false) {
                    return fail("** in a set display");
                }
                is_dict = Some(true);
                pairs.push((None, self.binary(0)?));
            } else {
                let key = self.starred_or_expression()?;
                if self.is_op(":") {
                    if is_dict == Some(false) {
                        return fail("a key in a set display");
                    }
                    is_dict = Some(true);
                    self.at += 1;
                    let value = self.expression()?;
                    if pairs.is_empty() && self.is_word("for") {
                        self.comprehension_tail()?;
                        self.expect("}")?;
                        return Ok(Expr::Unsupported);
                    }
                    pairs.push((Some(key), value));
                } else {
                    if is_dict == Some(true) {
                        return fail("a set item in a dict display");
                    }
                    is_dict = Some(false);
                    if set.is_empty() && self.is_word("for") {
                        self.comprehension_tail()?;
                        self.expect("}")?;
                        return Ok(Expr::Unsupported);
                    }
                    set.push(key);
                }
            }
            if self.is_op(",") {
                self.at += 1;
            } else if !self.is_op("}") {
                return fail("expected , or } in a display");
            }
        }
        self.at += 1;
        Ok(if is_dict == Some(false) {
            Expr::Set(set)
        } else {
            Expr::Dict(pairs)
        })
    }
}

/// A unary operator applied to an operand.
fn unary(op: char, operand: Expr) -> Expr {
    Expr::UnaryOp(op, Box::new(operand))
}

/// Python's truth value of an evaluated operand.
fn truthy(value: &PyValue) -> bool {
    match value {
        PyValue::None => false,
        PyValue::Bool(b) => *b,
        PyValue::Int(i) => *i != 0,
        PyValue::Float(f) => *f != 0.0,
        PyValue::Str(s) => !s.is_empty(),
        PyValue::List(v) | PyValue::Tuple(v) => !v.is_empty(),
        PyValue::Dict(v) => !v.is_empty(),
    }
}
