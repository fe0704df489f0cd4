package notify

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
	"github.com/tocsin/tocsin/internal/mail"
	"github.com/tocsin/tocsin/internal/notify/render"
	"github.com/tocsin/tocsin/internal/stats"
	"github.com/tocsin/tocsin/internal/store"
)

// RouteMonthly names the monthly reports in the log.
const RouteMonthly = "monthly"

// monthlyKey is the memory key of "the report of this month was sent".
func monthlyKey(month time.Time) uint64 {
	h := fnv.New64a()
	h.Write([]byte("monthly\x00" + month.Format("2006-01")))
	return h.Sum64()
}

// monthly queues the organisation's report of the previous month, once,
// on the first run of a month, when the organisation asked for it and the
// month held something. It is not subject to routes, digests or the
// budget.
func (r *run) monthly(ctx context.Context, org *constituency.Org, id string) error {
	first := time.Date(r.now.Year(), r.now.Month(), 1, 0, 0, 0, 0, time.UTC)
	month := first.AddDate(0, -1, 0)
	contact, ok := r.contact(id)
	if !ok {
		return nil
	}
	key := monthlyKey(month)
	if _, done := r.mem[memKey{contact.Email, key}]; done {
		return nil
	}
	rep, err := stats.BuildMonthly(ctx, r.n.Events, id, month)
	if err != nil {
		return fmt.Errorf("monthly report of %s: %w", id, err)
	}
	if len(rep.Rows) == 0 {
		return nil
	}
	nt := &store.Notification{
		Kind: KindMonthly, Org: id, Recipient: contact.Email, Contact: string(contact.Source), Route: RouteMonthly,
		Status: store.NotifyQueued, CreatedAt: r.now, UpdatedAt: r.now, NextAttempt: r.now,
	}
	p := &pending{org: org, orgID: id, g: &group{contact: contact}, n: nt, monthly: rep,
		mem: []store.Remembered{{Recipient: contact.Email, Key: key, At: r.now}}}
	r.mem[memKey{contact.Email, key}] = r.now
	r.batch = append(r.batch, p)
	if len(r.batch) >= r.batchSize {
		return r.flush(ctx)
	}
	return nil
}

// composeMonthly renders a monthly report: a summary in the text, every
// row in a CSV attachment.
func (r *run) composeMonthly(p *pending) error {
	cfg := r.n.Config
	rep := p.monthly
	m := &render.Monthly{
		Ident: p.n.Ident, Date: r.now, Month: rep.Month, OrgName: p.orgID,
		Sender:   render.Sender{Name: cfg.Sender.Name, Email: cfg.Sender.Email, URL: cfg.Sender.URL, Phone: cfg.Sender.Phone},
		Infected: rep.Count("infected"), Vulnerable: rep.Count("vulnerable"), Other: rep.Count("other"),
		Attachment: fmt.Sprintf("%s-%s.csv", p.n.Ident, rep.Month.Format("2006-01")),
	}
	var langs []string
	if p.org != nil {
		if p.org.Name != "" {
			m.OrgName = p.org.Name
		}
		langs = p.org.Languages
	}
	kinds := map[[2]string]int{}
	for _, row := range rep.Rows {
		kinds[[2]string{row.Kind, row.What}]++
	}
	for k, n := range kinds {
		m.Kinds = append(m.Kinds, render.MonthlyKind{Kind: k[0], What: k[1], Count: n})
	}
	slices.SortFunc(m.Kinds, func(a, b render.MonthlyKind) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Kind, b.Kind), strings.Compare(a.What, b.What))
	})
	out, err := r.n.Renderer.RenderMonthly(m, langs)
	if err != nil {
		return fmt.Errorf("render the monthly report: %w", err)
	}
	subject := out.Subject
	var csv bytes.Buffer
	if err := rep.WriteCSV(&csv); err != nil {
		return err
	}
	msg := &mail.Message{
		From:      mail.Address{Name: cfg.Sender.Name, Email: cfg.Sender.Email},
		To:        []mail.Address{{Email: p.n.Recipient}},
		Subject:   subject,
		Date:      r.now,
		MessageID: mail.NewMessageID(p.n.Ident, domainOf(cfg.Sender.Email)),
		Header:    autoHeaders(p.n.Ident),
		Text:      out.Text,
		Attachments: []mail.Attachment{{
			Name: m.Attachment, ContentType: "text/csv; charset=utf-8", Data: csv.Bytes(),
		}},
	}
	raw, err := r.seal(msg, p.g.contact.PGPKey)
	if err != nil {
		return err
	}
	p.n.Subject, p.n.MessageID, p.n.Message = subject, msg.MessageID, raw
	return nil
}
