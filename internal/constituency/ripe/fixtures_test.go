package ripe

import "testing"

// fixtures are the RIR samples in ../shared/data/rir (see its MANIFEST.txt),
// each imported on its own or with the files it refers to.
var fixtures = []struct {
	name      string
	files     []string
	countries []string
}{
	{name: "irrd_valid", files: []string{"irrd/irrd_valid_objects.rpsl"}},
	{name: "irrd_invalid", files: []string{"irrd/irrd_invalid_objects.rpsl"}},
	{name: "ripe_testdb", files: []string{"ripe-whois-testdata/TEST.db"}},
	{name: "ripe_testdb_gb", files: []string{"ripe-whois-testdata/TEST.db"}, countries: []string{"gb"}},
	{name: "ripe_load_dumps", files: []string{
		"ripe-whois-testdata/TEST_BOOTSTRAP_LOAD_DUMP.db",
		"ripe-whois-testdata/TEST_ADDITIONAL_LOAD_DUMP.db",
		"ripe-whois-testdata/TEST_ADDITIONAL_LOAD_DUMP_WITH_ERROR.db",
	}},
	{name: "grs_afrinic", files: []string{"ripe-whois-testdata/grs/afrinic.test.gz"}},
	{name: "grs_apnic", files: []string{"ripe-whois-testdata/grs/apnic.test.gz"}},
	{name: "grs_arin", files: []string{"ripe-whois-testdata/grs/arin.test.zip"}},
	{name: "grs_jpirr", files: []string{"ripe-whois-testdata/grs/jpirr.test.gz"}},
	{name: "grs_lacnic", files: []string{"ripe-whois-testdata/grs/lacnic.test"}},
	{name: "grs_radb", files: []string{"ripe-whois-testdata/grs/radb.test.gz"}},
	{name: "grs_ripe", files: []string{"ripe-whois-testdata/grs/ripe.test.gz"}},
	{name: "ripe_rest_json", files: []string{"ripe-whois-testdata/as3333.json.gz"}},
	{name: "delegated_stats", files: []string{"delegated-stats/delegated-iana-latest.2019"}},
}

func TestFixtures(t *testing.T) {
	needShared(t)
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			got := importFiles(t, sharedRIR, f.files, Options{Countries: f.countries}, 300)
			golden(t, f.name, got)
		})
	}
}
