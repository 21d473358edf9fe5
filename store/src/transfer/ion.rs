//! Amazon Ion text, as DynamoDB's ION exports write it and its imports read it: one item a
//! line, `$ion_1_0 {Item:{...}}`, with DynamoDB's types mapped as its documentation gives
//! them (S string, N decimal, B blob, BOOL bool, NULL null, M struct, L list, and the sets
//! as lists annotated `$dynamodb_SS`, `$dynamodb_NS`, `$dynamodb_BS`).
//!
//! The reader takes the text subset such data uses (plus comments, long strings, quoted
//! symbols, ints in any radix, floats and typed nulls) and turns a line into DynamoDB JSON,
//! so an imported item passes the same checks as one sent to PutItem. Timestamps,
//! S-expressions, infinities and NaN have no DynamoDB type: such a line is an error.

use base64::Engine as _;
use serde_json::{json, Map, Value};
use shared::model::{AttributeValue, Item};

const SS: &str = "$dynamodb_SS";
const NS: &str = "$dynamodb_NS";
const BS: &str = "$dynamodb_BS";
const VERSION_MARKER: &str = "$ion_1_0";
/// How deep values may nest before a line is refused (DynamoDB items nest at most 32).
const MAX_DEPTH: usize = 64;

/// Appends `$ion_1_0 {Item:{...}}` (without a line break) to `out`.
pub fn write_item_line(out: &mut String, item: &Item) {
    out.push_str(VERSION_MARKER);
    out.push_str(" {Item:");
    write_struct(out, item);
    out.push('}');
}

fn write_struct(out: &mut String, item: &Item) {
    out.push('{');
    for (i, (name, value)) in item.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_symbol(out, name);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

fn write_value(out: &mut String, value: &AttributeValue) {
    match value {
        AttributeValue::S(s) => write_quoted(out, s, '"'),
        AttributeValue::N(n) => write_decimal(out, n.as_str()),
        AttributeValue::B(b) => write_blob(out, b),
        AttributeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttributeValue::Null => out.push_str("null"),
        AttributeValue::M(m) => write_struct(out, m),
        AttributeValue::L(list) => write_list(out, None, list, write_value),
        AttributeValue::Ss(set) => write_list(out, Some(SS), set, |o, s| write_quoted(o, s, '"')),
        AttributeValue::Ns(set) => {
            write_list(out, Some(NS), set, |o, n| write_decimal(o, n.as_str()))
        }
        AttributeValue::Bs(set) => write_list(out, Some(BS), set, |o, b| write_blob(o, b)),
    }
}

fn write_list<T>(
    out: &mut String,
    annotation: Option<&str>,
    values: &[T],
    write: impl Fn(&mut String, &T),
) {
    if let Some(annotation) = annotation {
        out.push_str(annotation);
        out.push_str("::");
    }
    out.push('[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(out, value);
    }
    out.push(']');
}

fn write_blob(out: &mut String, bytes: &[u8]) {
    out.push_str("{{");
    out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
    out.push_str("}}");
}

/// A field name: bare when it is a plain identifier, else a quoted symbol.
fn write_symbol(out: &mut String, name: &str) {
    let mut chars = name.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !matches!(name, "null" | "true" | "false" | "nan");
    if identifier {
        out.push_str(name);
    } else {
        write_quoted(out, name, '\'');
    }
}

/// Text between `quote`s, escaped as Ion requires (UTF-8 is written as it is).
fn write_quoted(out: &mut String, text: &str, quote: char) {
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// A DynamoDB number as an Ion decimal, as DynamoDB writes them: `103.`, `6d2`, `15d-1`.
fn write_decimal(out: &mut String, number: &str) {
    let (negative, unsigned) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (
            &unsigned[..at],
            unsigned[at + 1..].parse::<i64>().unwrap_or(0),
        ),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = int.chars().chain(frac.chars()).collect();
    let digits = digits.trim_start_matches('0');
    let significant = digits.trim_end_matches('0');
    if significant.is_empty() {
        out.push_str("0.");
        return;
    }
    let exponent = exponent - frac.len() as i64 + (digits.len() - significant.len()) as i64;
    if negative {
        out.push('-');
    }
    out.push_str(significant);
    if exponent == 0 {
        out.push('.');
    } else {
        out.push_str(&format!("d{exponent}"));
    }
}

/// One line, `{Item:{...}}` (optionally after version markers), as the DynamoDB JSON line
/// `{"Item":{...}}`; its values are checked when that is read as an item. A bulk put's
/// line may also hold its condition: `ConditionExpression` (a string),
/// `ExpressionAttributeNames` (a struct of strings) and `ExpressionAttributeValues` (a
/// struct of values typed as the item's are); other members are kept as their names, for
/// the reader to refuse.
pub fn line_as_json(line: &str) -> Result<Value, ()> {
    let mut parser = Parser { text: line, at: 0 };
    let mut item = None;
    loop {
        parser.skip_blank()?;
        if parser.at >= parser.text.len() {
            break;
        }
        let (annotations, value) = parser.value(0)?;
        match value {
            Ion::Symbol(s) if s == VERSION_MARKER && annotations.is_empty() => {}
            Ion::Struct(fields) if item.is_none() && annotations.is_empty() => {
                item = Some(fields);
            }
            _ => return Err(()),
        }
    }
    let mut line = Map::new();
    for (name, annotations, value) in item.ok_or(())? {
        if !annotations.is_empty() {
            return Err(());
        }
        let value = match (name.as_str(), value) {
            ("Item" | "ExpressionAttributeValues", Ion::Struct(attributes)) => {
                struct_json(attributes)?
            }
            ("ConditionExpression", Ion::String(text)) => Value::String(text),
            ("ExpressionAttributeNames", Ion::Struct(names)) => names
                .into_iter()
                .map(|(placeholder, annotations, name)| match name {
                    Ion::String(name) if annotations.is_empty() => Ok((placeholder, json!(name))),
                    _ => Err(()),
                })
                .collect::<Result<Map<_, _>, ()>>()
                .map(Value::Object)?,
            (
                "Item"
                | "ExpressionAttributeValues"
                | "ConditionExpression"
                | "ExpressionAttributeNames",
                _,
            ) => return Err(()),
            _ => Value::Null,
        };
        if line.insert(name, value).is_some() {
            return Err(());
        }
    }
    if !line.contains_key("Item") {
        return Err(());
    }
    Ok(Value::Object(line))
}

/// A parsed Ion value of the kinds DynamoDB data maps to.
#[derive(Debug)]
enum Ion {
    Null,
    Bool(bool),
    /// Decimal text `Number::parse` reads.
    Number(String),
    String(String),
    Symbol(String),
    Blob(Vec<u8>),
    /// Members with their annotations.
    List(Vec<(Vec<String>, Ion)>),
    /// Fields with their annotations.
    Struct(Vec<(String, Vec<String>, Ion)>),
}

/// An attribute map in DynamoDB JSON; a field name twice is an error.
fn struct_json(fields: Vec<(String, Vec<String>, Ion)>) -> Result<Value, ()> {
    let mut map = Map::with_capacity(fields.len());
    for (name, annotations, value) in fields {
        let value = attribute_json(annotations, value)?;
        if map.insert(name, value).is_some() {
            return Err(());
        }
    }
    Ok(Value::Object(map))
}

/// One attribute value in DynamoDB JSON.
fn attribute_json(annotations: Vec<String>, value: Ion) -> Result<Value, ()> {
    let set = match annotations.as_slice() {
        [] => None,
        [one] if [SS, NS, BS].contains(&one.as_str()) => Some(one.as_str()),
        _ => return Err(()),
    };
    Ok(match (set, value) {
        (None, Ion::Null) => json!({"NULL": true}),
        (None, Ion::Bool(b)) => json!({"BOOL": b}),
        (None, Ion::Number(n)) => json!({"N": n}),
        (None, Ion::String(s) | Ion::Symbol(s)) => json!({"S": s}),
        (None, Ion::Blob(b)) => json!({"B": base64::engine::general_purpose::STANDARD.encode(b)}),
        (None, Ion::Struct(fields)) => json!({"M": struct_json(fields)?}),
        (None, Ion::List(values)) => {
            let values: Result<Vec<Value>, ()> = values
                .into_iter()
                .map(|(annotations, v)| attribute_json(annotations, v))
                .collect();
            json!({"L": values?})
        }
        (Some(kind), Ion::List(values)) => {
            let mut members = Vec::with_capacity(values.len());
            for (annotations, value) in values {
                if !annotations.is_empty() {
                    return Err(());
                }
                members.push(match (kind, value) {
                    (SS, Ion::String(s)) => Value::String(s),
                    (NS, Ion::Number(n)) => Value::String(n),
                    (BS, Ion::Blob(b)) => {
                        Value::String(base64::engine::general_purpose::STANDARD.encode(b))
                    }
                    _ => return Err(()),
                });
            }
            let key = &kind["$dynamodb_".len()..];
            json!({ key: members })
        }
        (Some(_), _) => return Err(()),
    })
}

/// A recursive-descent reader of one line of Ion text.
/// `at` only ever stops on a character boundary: it steps over ASCII bytes or whole
/// characters.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn starts_with(&self, prefix: &[u8]) -> bool {
        self.text.as_bytes()[self.at..].starts_with(prefix)
    }

    /// Skips whitespace and comments.
    fn skip_blank(&mut self) -> Result<(), ()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) => self.at += 1,
                Some(b'/') if self.starts_with(b"//") => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.at += 1;
                    }
                }
                Some(b'/') if self.starts_with(b"/*") => {
                    let end = find(&self.text.as_bytes()[self.at + 2..], b"*/").ok_or(())?;
                    self.at += 2 + end + 2;
                }
                _ => return Ok(()),
            }
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), ()> {
        self.skip_blank()?;
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(())
        }
    }

    /// A value with its annotations (`a::b::value`).
    fn value(&mut self, depth: usize) -> Result<(Vec<String>, Ion), ()> {
        if depth > MAX_DEPTH {
            return Err(());
        }
        let mut annotations = Vec::new();
        loop {
            self.skip_blank()?;
            let value = self.bare_value(depth)?;
            let Ion::Symbol(symbol) = &value else {
                return Ok((annotations, value));
            };
            self.skip_blank()?;
            if !self.starts_with(b"::") {
                return Ok((annotations, value));
            }
            self.at += 2;
            annotations.push(symbol.clone());
        }
    }

    fn bare_value(&mut self, depth: usize) -> Result<Ion, ()> {
        match self.peek().ok_or(())? {
            b'{' if self.starts_with(b"{{") => self.blob(),
            b'{' => self.structure(depth),
            b'[' => self.list(depth),
            b'"' => Ok(Ion::String(self.quoted(b'"')?)),
            b'\'' if self.starts_with(b"'''") => Ok(Ion::String(self.long_strings()?)),
            b'\'' => Ok(Ion::Symbol(self.quoted(b'\'')?)),
            b'-' | b'0'..=b'9' => self.number(),
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => self.identifier(),
            _ => Err(()),
        }
    }

    fn structure(&mut self, depth: usize) -> Result<Ion, ()> {
        self.at += 1;
        let mut fields = Vec::new();
        loop {
            self.skip_blank()?;
            if self.peek() == Some(b'}') {
                self.at += 1;
                return Ok(Ion::Struct(fields));
            }
            let name = match self.peek().ok_or(())? {
                b'"' => self.quoted(b'"')?,
                b'\'' if self.starts_with(b"'''") => self.long_strings()?,
                b'\'' => self.quoted(b'\'')?,
                _ => match self.identifier()? {
                    Ion::Symbol(name) => name,
                    _ => return Err(()),
                },
            };
            self.expect(b':')?;
            let (annotations, value) = self.value(depth + 1)?;
            fields.push((name, annotations, value));
            self.skip_blank()?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {}
                _ => return Err(()),
            }
        }
    }

    fn list(&mut self, depth: usize) -> Result<Ion, ()> {
        self.at += 1;
        let mut values = Vec::new();
        loop {
            self.skip_blank()?;
            if self.peek() == Some(b']') {
                self.at += 1;
                return Ok(Ion::List(values));
            }
            values.push(self.value(depth + 1)?);
            self.skip_blank()?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {}
                _ => return Err(()),
            }
        }
    }

    /// `{{ base64 }}` (a blob) or `{{ "text" }}` (a clob, read as its bytes).
    fn blob(&mut self) -> Result<Ion, ()> {
        self.at += 2;
        let end = find(&self.text.as_bytes()[self.at..], b"}}").ok_or(())?;
        let inside = &self.text[self.at..self.at + end];
        self.at += end + 2;
        let inside = inside.trim();
        if inside.starts_with('"') {
            let mut clob = Parser {
                text: inside,
                at: 0,
            };
            let text = clob.quoted(b'"')?;
            return Ok(Ion::Blob(text.into_bytes()));
        }
        let compact: String = inside.chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map(Ion::Blob)
            .map_err(|_| ())
    }

    /// One or more adjacent `'''long strings'''`, joined.
    fn long_strings(&mut self) -> Result<String, ()> {
        let mut text = String::new();
        loop {
            self.at += 3;
            loop {
                if self.starts_with(b"'''") {
                    self.at += 3;
                    break;
                }
                self.escaped_char(&mut text)?;
            }
            let resume = self.at;
            self.skip_blank()?;
            if !self.starts_with(b"'''") {
                self.at = resume;
                return Ok(text);
            }
        }
    }

    /// Text between `quote`s, unescaped.
    fn quoted(&mut self, quote: u8) -> Result<String, ()> {
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.peek().ok_or(())? {
                c if c == quote => {
                    self.at += 1;
                    return Ok(text);
                }
                b'\n' | b'\r' => return Err(()),
                _ => self.escaped_char(&mut text)?,
            }
        }
    }

    /// Appends the next character, or the one its escape stands for, to `text`.
    fn escaped_char(&mut self, text: &mut String) -> Result<(), ()> {
        let c = self.text[self.at..].chars().next().ok_or(())?;
        self.at += c.len_utf8();
        if c != '\\' {
            text.push(c);
            return Ok(());
        }
        let escape = self.peek().ok_or(())?;
        self.at += 1;
        let code = |parser: &mut Self, digits: usize| -> Result<char, ()> {
            let hex = parser.text.get(parser.at..parser.at + digits).ok_or(())?;
            parser.at += digits;
            u32::from_str_radix(hex, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or(())
        };
        match escape {
            b'n' => text.push('\n'),
            b'r' => text.push('\r'),
            b't' => text.push('\t'),
            b'0' => text.push('\0'),
            b'a' => text.push('\u{7}'),
            b'b' => text.push('\u{8}'),
            b'f' => text.push('\u{c}'),
            b'v' => text.push('\u{b}'),
            b'"' | b'\'' | b'\\' | b'/' | b'?' => text.push(escape as char),
            b'x' => text.push(code(self, 2)?),
            b'u' => text.push(code(self, 4)?),
            b'U' => text.push(code(self, 8)?),
            // A line continuation: the break is not part of the text.
            b'\n' => {}
            b'\r' => {
                if self.peek() == Some(b'\n') {
                    self.at += 1;
                }
            }
            _ => return Err(()),
        }
        Ok(())
    }

    /// An identifier: a keyword (`null`, `null.string`, `true`, `false`) or a symbol.
    fn identifier(&mut self) -> Result<Ion, ()> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
        {
            self.at += 1;
        }
        let word = &self.text[start..self.at];
        match word {
            "null" => {
                // A typed null, `null.int` and the like, is still NULL.
                if self.peek() == Some(b'.') {
                    self.at += 1;
                    while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                        self.at += 1;
                    }
                }
                Ok(Ion::Null)
            }
            "true" => Ok(Ion::Bool(true)),
            "false" => Ok(Ion::Bool(false)),
            "nan" | "" => Err(()),
            _ => Ok(Ion::Symbol(word.to_string())),
        }
    }

    /// An int (any radix), decimal or float, as decimal text.
    fn number(&mut self) -> Result<Ion, ()> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'+' | b'-'))
        {
            self.at += 1;
        }
        let token = &self.text[start..self.at];
        let (negative, unsigned) = match token.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, token),
        };
        let radix = match unsigned.get(..2) {
            Some("0x" | "0X") => Some(16),
            Some("0b" | "0B") => Some(2),
            _ => None,
        };
        let text = match radix {
            Some(radix) => {
                let digits: String = unsigned[2..].chars().filter(|&c| c != '_').collect();
                let value = u128::from_str_radix(&digits, radix).map_err(|_| ())?;
                format!("{}{value}", if negative { "-" } else { "" })
            }
            None => {
                // Timestamps (`2020-01-01T`) and anything else with letters but an
                // exponent marker have no DynamoDB type.
                let decimal: String = token
                    .chars()
                    .filter(|&c| c != '_')
                    .map(|c| if c == 'd' || c == 'D' { 'e' } else { c })
                    .collect();
                let valid = decimal
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
                if !valid || decimal[1..].contains(['-', '+']) && !decimal.contains(['e', 'E']) {
                    return Err(());
                }
                decimal
            }
        };
        Ok(Ion::Number(text))
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: Value) -> Item {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn read_item_line(line: &str) -> Result<Item, ()> {
        crate::transfer::import::ion_item(line)
    }

    fn line(item: &Item) -> String {
        let mut out = String::new();
        write_item_line(&mut out, item);
        out
    }

    #[test]
    fn every_type_round_trips() {
        let original = item(json!({
            "pk": {"S": "quote \" back \\ tab \t nl \n bell \u{7} é ✓"},
            "n": {"N": "600"}, "small": {"N": "-0.0015"}, "int": {"N": "103"},
            "huge": {"N": "1E+125"}, "zero": {"N": "0"},
            "b": {"B": "AAEC/w=="}, "yes": {"BOOL": true}, "none": {"NULL": true},
            "doc": {"M": {"list": {"L": [{"N": "1"}, {"S": "two"}, {"SS": ["x"]}]},
                          "odd name": {"S": "v"}, "null": {"S": "kw"}, "$x": {"S": "d"}}},
            "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1.5", "-2"]}, "bs": {"BS": ["AQ==", "Ag=="]}
        }));
        let text = line(&original);
        assert!(!text.contains('\n'));
        assert_eq!(read_item_line(&text), Ok(original));
    }

    #[test]
    fn numbers_are_written_as_dynamodb_writes_them() {
        let text = line(&item(json!({
            "a": {"N": "103"}, "b": {"N": "600"}, "c": {"N": "2000"}, "d": {"N": "1.5"},
            "e": {"N": "-0.25"}, "f": {"N": "0"}
        })));
        assert_eq!(
            text,
            "$ion_1_0 {Item:{a:103.,b:6d2,c:2d3,d:15d-1,e:-25d-2,f:0.}}"
        );
    }

    #[test]
    fn reads_dynamodbs_documented_example_and_other_ion_spellings() {
        let example = r#"$ion_1_0 {
            Item:{ Authors:$dynamodb_SS::["Author1","Author2"], Dimensions:"8.5 x 11.0 x 1.5",
                   Id:103., InPublication:false, PageCount:6d2, Price:2d3,
                   'Quoted name':'''long ''' '''string''', Hex:0x1F, Bin:-0b101, Under:1_000,
                   Float:1.5e0, Typed:null.string, Clob:{{"hi"}}, // a comment
                   /* another */ Blob:{{ AAEC }} } }"#;
        let read = read_item_line(example).unwrap_or_else(|()| panic!("unreadable"));
        let expected = item(json!({
            "Authors": {"SS": ["Author1", "Author2"]}, "Dimensions": {"S": "8.5 x 11.0 x 1.5"},
            "Id": {"N": "103"}, "InPublication": {"BOOL": false}, "PageCount": {"N": "600"},
            "Price": {"N": "2000"}, "Quoted name": {"S": "long string"}, "Hex": {"N": "31"},
            "Bin": {"N": "-5"}, "Under": {"N": "1000"}, "Float": {"N": "1.5"},
            "Typed": {"NULL": true}, "Clob": {"B": "aGk="}, "Blob": {"B": "AAEC"}
        }));
        assert_eq!(read, expected);
    }

    #[test]
    fn what_dynamodb_cannot_hold_is_an_error() {
        for bad in [
            "",
            "$ion_1_0",
            "{Other:{a:1}}",
            "{Item:{a:2020-01-01T00:00Z}}",
            "{Item:{a:2020-01-01}}",
            "{Item:{a:nan}}",
            "{Item:{a:-inf}}",
            "{Item:{a:(sexp)}}",
            "{Item:{a:$dynamodb_SS::[]}}",
            "{Item:{a:$dynamodb_SS::[\"x\",\"x\"]}}",
            "{Item:{a:$dynamodb_NS::[\"1\"]}}",
            "{Item:{a:other::1}}",
            "{Item:{a:1,a:2}}",
            "{Item:{a:\"open}}",
            "{Item:{a:1}} {Item:{b:1}}",
            "{Item:{a:{{not base64!}}}}",
            "{Item:{a:1e999999}}",
        ] {
            assert_eq!(read_item_line(bad), Err(()), "{bad}");
        }
        let deep = format!("{{Item:{{a:{}1{}}}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(read_item_line(&deep), Err(()));
    }

    proptest::proptest! {
        /// Whatever a file holds, reading a line answers; it never panics.
        #[test]
        fn any_line_is_read_or_refused(line in "[{}\\[\\]:,'\"$a-zA-Z0-9_.+\\-/* \\\\éd]{0,60}") {
            let _ = line_as_json(&line);
            let _ = line_as_json(&format!("{{Item:{{a:{line}}}}}"));
        }
    }
}
