//! The value parsers of the run's flags: each turns one flag's text into
//! its typed value, or says what was expected.

use std::time::Duration;

use crate::ops::Field;

use crate::client::Rate;

/// A share of rows: `0.2` or `20%`.
pub fn parse_share(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let share = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
        None => text.parse::<f64>(),
    };
    match share {
        Ok(share) if share > 0.0 && share <= 1.0 => Ok(share),
        _ => Err(format!(
            "{text:?}: expected a share of rows between 0 and 1 (0.2) or a percentage (20%)"
        )),
    }
}

/// A change ticket: one line of at most 100 characters, so it fits a
/// results cell and a log field as typed.
pub fn parse_ticket(text: &str) -> Result<String, String> {
    let ticket = text.trim();
    if ticket.is_empty() {
        return Err("a ticket may not be empty; give its ID, such as CHG0012345".to_owned());
    }
    if ticket.chars().count() > 100 || ticket.chars().any(char::is_control) {
        return Err(
            "a ticket is one line of at most 100 characters, such as CHG0012345".to_owned(),
        );
    }
    Ok(ticket.to_owned())
}

pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("auto") {
        return Ok(Rate::Auto);
    }
    match text.parse::<f64>() {
        Ok(0.0) => Ok(Rate::Unlimited),
        Ok(r) if r > 0.0 && r.is_finite() => Ok(Rate::Fixed(r)),
        _ => Err("expected requests per second (e.g. 10), 0 for unlimited, or auto".into()),
    }
}

pub fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "\\t" | "tab" => Ok(b'\t'),
        t if t.len() == 1 && t.is_ascii() => Ok(t.as_bytes()[0]),
        _ => Err("expected one ASCII character, or \\t for tab".into()),
    }
}

/// An encoding by its WHATWG label (`windows-1252`, `latin1`, `utf-8`):
/// only those where `,`, `;`, quotes and line breaks are the ASCII bytes.
pub fn parse_encoding(text: &str) -> Result<&'static encoding_rs::Encoding, String> {
    match encoding_rs::Encoding::for_label(text.trim().as_bytes()) {
        Some(encoding) if encoding.is_ascii_compatible() => Ok(encoding),
        Some(encoding) => Err(format!(
            "{} is not read here; save the file as UTF-8",
            encoding.name()
        )),
        None => Err("expected an encoding such as utf-8, windows-1252 or iso-8859-15".into()),
    }
}

/// `--column FIELD=HEADER`: a header of the file holding a field.
pub fn parse_column(text: &str) -> Result<(Field, String), String> {
    let fields = || {
        let names: Vec<&str> = Field::ALL.iter().map(|f| f.wire_name()).collect();
        names.join(", ")
    };
    let Some((field, header)) = text.split_once('=') else {
        return Err(format!(
            "expected FIELD=HEADER, such as userId=\"Employee ID\"; fields: {}",
            fields()
        ));
    };
    let wanted = crate::input::normalise_header(field);
    let field = Field::ALL
        .into_iter()
        .find(|f| crate::input::normalise_header(f.wire_name()) == wanted)
        .ok_or_else(|| format!("{field:?} is not a field; fields: {}", fields()))?;
    match header.trim() {
        "" => Err("expected a header after '='".into()),
        header => Ok((field, header.to_owned())),
    }
}

/// A number of seconds, zero included.
pub fn seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs >= 0.0 && secs.is_finite() => Ok(Duration::from_secs_f64(secs)),
        _ => Err("expected a number of seconds".into()),
    }
}

/// A number of seconds greater than zero.
pub fn positive_seconds(text: &str) -> Result<Duration, String> {
    match seconds(text) {
        Ok(secs) if !secs.is_zero() => Ok(secs),
        _ => Err("expected a positive number of seconds".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_mappings_and_encodings() {
        assert_eq!(
            parse_column("user_id=Employee ID"),
            Ok((Field::UserId, "Employee ID".to_owned()))
        );
        assert!(parse_column("badge=Employee ID").is_err());
        assert!(parse_column("userId").is_err());
        assert_eq!(parse_encoding("latin1"), Ok(encoding_rs::WINDOWS_1252));
        assert!(parse_encoding("utf-16le").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("0").unwrap(), Rate::Unlimited);
        assert_eq!(parse_rate("2.5").unwrap(), Rate::Fixed(2.5));
        assert_eq!(parse_rate("AUTO").unwrap(), Rate::Auto);
        assert!(parse_rate("-1").is_err());
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn failure_rates_read_as_shares_or_percentages() {
        assert_eq!(parse_share("0.25"), Ok(0.25));
        assert_eq!(parse_share("20%"), Ok(0.2));
        for bad in ["0", "1.5", "150%", "x", "-0.1"] {
            assert!(parse_share(bad).is_err(), "{bad}");
        }
    }
}
