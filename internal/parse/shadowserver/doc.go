// Package shadowserver reads The Shadowserver Foundation's CSV reports,
// every report type, driven by Shadowserver's own mapping file for IntelMQ
// (intelmq.json, from Shadowserver's report schema repository). A copy of
// that file is compiled in (Embedded); LoadSchema reads a newer one, so a
// report type Shadowserver adds needs no new release.
//
// The semantics are IntelMQ's Shadowserver parser
// (intelmq/bots/parsers/shadowserver), so that tocsin's events and
// IntelMQ's agree:
//
//   - The report type comes from the file name, Shadowserver's dated form
//     (2024-07-04-scan_ssl-123-sample-asn.csv) or the plain one
//     (scan_ssl.csv), as the schema's file_name. A type named with
//     parse.Input.Report (--report) wins; it may also be the schema's JSON
//     key or feed name ("Accessible-SSL").
//   - Required fields: a value the field refuses, or a conversion that
//     fails, rejects the row; a conversion that gives no value (an empty
//     port, an IP of 0.0.0.0) leaves the field unset and keeps the cell in
//     extra under its column name. A required column missing from the
//     header fails the whole report (ErrHeader): its format is not the one
//     the schema describes.
//   - Optional fields: a conversion that fails rejects the row (IntelMQ
//     fails the line too); no value leaves the field unset; a value the
//     field refuses goes to extra under its column name. "extra." maps a
//     column to extra under its own name, "extra.NAME" under NAME, false
//     drops it. The values "", "-" and "N/A" set no field.
//   - Columns the schema does not name go to extra under their column
//     name when they are not empty (extra.sic = "0", as IntelMQ).
//   - Constant fields are set last and win over columns (scan_smb's
//     protocol.transport).
//   - Converted values keep their type in extra: convert_int and
//     invalidate_zero give numbers, convert_bool true or false,
//     convert_date an ISO 8601 time in UTC.
//   - extract_cve_from_tag puts the tag's CVE identifiers, sorted and
//     comma-separated, in product.vulnerabilities, where the schema maps it
//     since December 2025 (IntelMQ issue 2670; before, extra.cve).
//
// Where this package departs from IntelMQ, and why:
//
//   - feed.name stays the tocsin feed's name ("shadowserver"), which
//     deduplication and routing key on; Shadowserver's feed name for the
//     report type ("Accessible-SSL", IntelMQ's feed.name) goes to feed.code.
//   - raw is the record's bytes exactly as in the report, without the line
//     terminator; IntelMQ stores the header and the row written out again.
//     The ingest pipeline keeps the whole report and every event's line
//     number, and may drop raw.
//   - An empty cell never becomes an extra value; IntelMQ keeps
//     extra.tag = "" for mappings without a conversion.
//   - A row with a different number of fields than the header is rejected;
//     IntelMQ fills missing cells with None and drops surplus ones.
//   - scan_exchange_type gives vulnerable-system where IntelMQ gives
//     infected-system, a type of the malicious-code taxonomy that an Event
//     refuses beside the vulnerable taxonomy the same rows get.
//   - category_or_detail (compromised_website) is the category column, or
//     the detail column when the category is empty; IntelMQ's code for it
//     was not at hand, so this follows the name.
//   - Conversions that IntelMQ hands to dateutil, ipaddress and its
//     harmonisation use the event package's parsers; a date dateutil would
//     guess at fuzzily is no value here.
//   - Every event is validated (event.Validate): one that names no source
//     or destination, or whose classification is not in the taxonomy, is
//     rejected with the reason. The sandbox_dns and ransomware_victim
//     mappings set neither (the queried name, the victim's website go to
//     extra), so all their rows are rejected.
//
// Rows are read by a CSV reader that follows Python's csv module as
// IntelMQ uses it and makes one allocation per row; the header is compiled
// once into a plan that binds every mapping to its column and field, and
// one Event is reused for every row.
package shadowserver
