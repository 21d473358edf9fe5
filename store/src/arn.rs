//! The fields of an Amazon Resource Name, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`,
//! for the checks that tell one kind of ARN from another (a DynamoDB stream's, a Kinesis
//! stream's).

/// An ARN's fields, borrowed from it. The resource may itself hold colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// The fields of `arn`; `None` when it is not `arn:` followed by five fields.
pub fn parse(arn: &str) -> Option<Arn<'_>> {
    let mut fields = arn.splitn(6, ':');
    if fields.next()? != "arn" {
        return None;
    }
    Some(Arn {
        partition: fields.next()?,
        service: fields.next()?,
        region: fields.next()?,
        account: fields.next()?,
        resource: fields.next()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_split_at_the_first_five_colons() {
        let arn = parse("arn:aws:dynamodb:us-east-1:0:table/t/stream/2026-01-01T00:00:00.000");
        assert_eq!(
            arn,
            Some(Arn {
                partition: "aws",
                service: "dynamodb",
                region: "us-east-1",
                account: "0",
                resource: "table/t/stream/2026-01-01T00:00:00.000",
            })
        );
        assert_eq!(
            parse("arn:aws:s3:::bucket").map(|a| a.resource),
            Some("bucket")
        );
        assert_eq!(parse("arn:aws:kinesis:r:a"), None);
        assert_eq!(parse("nra:aws:kinesis:r:a:stream/s"), None);
    }
}
