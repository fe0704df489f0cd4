// Package ripe imports organisations, their IP ranges and AS numbers, and
// their abuse contacts from the RIRs' databases in RPSL: RIPE's split dumps
// (ripe.db.inetnum.gz, ripe.db.inet6num.gz, ripe.db.aut-num.gz,
// ripe.db.organisation.gz, ripe.db.role.gz) or any mix of classes in one
// file, and the dumps of the other RIRs and IRRs that share the format.
//
// # Reading
//
// Reader reads RPSL objects one at a time in bounded memory (see its
// documentation for the syntax it accepts); a malformed object is an
// *ObjectError with its line and reason, and reading goes on. Import builds
// on it.
//
// # Importing
//
// Import turns inetnum, inet6num and aut-num objects into
// constituency.Assets, the organisations they name (org:) into
// constituency.Orgs with the organisation's name and country, and the
// abuse-mailbox of the role their abuse-c names (on the resource, else on
// its organisation) into constituency.Contacts, everything with Source
// "ripe" and IDs "ripe:<handle>" (ripe:ORG-EX1-RIPE). An inetnum range that
// is not one prefix becomes the fewest prefixes that cover it.
//
// A resource without org: gets an organisation made from it, so that its
// abuse-c still has an owner to belong to: ID
// "ripe:netname:<NETNAME>:<MNT-BY>" (or "ripe:as-name:..." for an
// aut-num), named after the netname. The maintainer is part of the ID
// because netnames are not unique (two LIRs may both call a customer
// network "CUSTOMER-LAN") while one maintainer's networks of one name are
// one customer's; without a netname the ID is "ripe:mnt-by:<MNT>". In the
// RIPE database most assignments (ASSIGNED PA) have no org:, and RIPE
// itself finds their abuse contact on the enclosing allocation; a lookup
// that finds an owner without contact should therefore go on to the less
// specific network. Options.SkipWithoutOrg drops such resources instead
// (IntelMQ's importer does so).
//
// With Options.Countries only the resources of these countries are kept:
// inetnum and inet6num by their own country: attribute, aut-num by their
// organisation's (RIPE's aut-num has no country), or, when the
// organisation has none, by whether it holds a network of these countries.
//
// # Memory
//
// References go both ways between the split files, so Import reads in two
// passes: the first keeps only organisations (handle → name, country,
// abuse-c) and abuse mailboxes (role/person/irt handle → addresses); the
// second streams the resources, resolves each against those maps from the
// Reader's buffer and gives it to the Output at once. Split files are read
// once, in the pass that needs them; a mixed file twice, each pass passing
// over the other's classes without parsing them. Memory grows with the
// organisations and roles of the dump and with the organisations given out
// (to give each once), never with the resources themselves.
//
// Measured by TestImportLarge (a generated dump in RIPE's proportions:
// 3.74M inetnum, 1M inet6num, 40k aut-num, 100k organisation, 120k role;
// 3.8 GB of text, gzip'd; 2-core machine, shared): with --country SE the
// import takes 9 s of CPU and 117 MB peak RSS; without a country filter
// (9.6M assets, 852k organisations of which 752k made) 13 s of CPU and
// 291 MB. IntelMQ's importer needs about 8 GB for the real RIPE dump.
//
// # Other registries
//
// The same Reader reads the other RIRs' and IRRs' dumps; what differs:
//
//   - AFRINIC and APNIC write RIPE's classes and attributes. AFRINIC has
//     lower-case countries ("dk") and continuation lines; APNIC names its
//     abuse contacts through irt objects (mnt-irt:), which Import follows
//     when there is no abuse-c.
//   - LACNIC: Latin-1 text; aut-num keys without "AS" ("278"); inetnum for
//     IPv4 and IPv6, as prefixes, IPv4 ones abbreviated ("24.232/16"); no
//     organisation objects: owner: (name) and ownerid: (ID) on the resource
//     instead, made into the organisation; abuse-c and owner-c name
//     handles whose objects are not in the dump.
//   - ARIN's bulk whois is not RPSL but reads the same way ("Name: value",
//     CamelCase names, "State/Prov"): OrgID objects (OrgName, Country,
//     OrgAbuseHandle), POCHandle (Mailbox), NetHandle and V6NetHandle
//     (NetRange, OrgID) and ASHandle (ASNumber) are imported; it comes as a
//     zip of several members, which File reads one after the other.
//   - RADB, JPIRR and older IRRd dumps hold routing objects (route, as-set,
//     aut-num) and "*xx" lines, deleted objects left by older IRRd
//     versions, reported as malformed.
//
// RIPE's REST API JSON, RDAP and the RIR statistics exchange files
// (delegated-*) are not RPSL: Import says so (ErrNotRPSL).
package ripe
