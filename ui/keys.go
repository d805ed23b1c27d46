package ui

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// keysTab lists virtual keys, creates them (showing the plaintext once) and revokes them. UI goroutine.
type keysTab struct {
	u       *UI
	content fyne.CanvasObject
	create  *widget.Button
	list    *fyne.Container
	revoke  map[string]*widget.Button // by key id, for tests
	form    *keyFormDialog            // the open create dialog, if any
	shown   *keyShownDialog           // the open "copy your key" dialog, if any
	keys    []KeyView                 // what the list shows; an equal refresh skips the rebuild
}

// keyFormDialog is the create-key form.
type keyFormDialog struct {
	d                            dialog.Dialog
	name, budget, rpm, tpm, days *widget.Entry
	models                       *widget.Entry
	period                       *widget.Select
	errLabel                     *widget.Label
	ok, cancel                   *widget.Button
}

// keyShownDialog shows a new key's plaintext once.
type keyShownDialog struct {
	d     dialog.Dialog
	key   *widget.Label
	copy  *widget.Button
	close *widget.Button
}

func newKeysTab(u *UI) *keysTab {
	t := &keysTab{u: u, revoke: map[string]*widget.Button{}}
	t.create = widget.NewButtonWithIcon("Create key", theme.ContentAddIcon(), t.showForm)
	t.create.Importance = widget.HighImportance
	t.list = container.NewVBox()
	hint := widget.NewLabel("Virtual keys let each tool or teammate use the proxy with its own budget and limits.")
	hint.Wrapping = fyne.TextWrapWord
	t.content = container.NewBorder(container.NewVBox(container.NewBorder(nil, nil, nil, t.create, hint),
		widget.NewSeparator()), nil, nil, nil, container.NewVScroll(t.list))
	t.set(nil)
	return t
}

func (t *keysTab) set(keys []KeyView) {
	if t.keys != nil && reflect.DeepEqual(keys, t.keys) {
		return
	}
	t.keys = keys
	if t.keys == nil {
		t.keys = []KeyView{}
	}
	t.revoke = map[string]*widget.Button{}
	if len(keys) == 0 {
		t.list.Objects = []fyne.CanvasObject{widget.NewLabel(
			"No virtual keys yet: Create key gives a tool its own key with a budget. " +
				"Until then clients use the API key shown on the Overview tab.")}
		t.list.Refresh()
		return
	}
	objs := []fyne.CanvasObject{tableRow(true, "Name", "Key", "Budget", "Limits", "Created", "")}
	for _, k := range keys {
		id, name := k.ID, k.Name
		var action fyne.CanvasObject
		if k.Revoked {
			l := widget.NewLabel("Revoked")
			l.Importance = widget.LowImportance
			action = l
		} else {
			b := widget.NewButtonWithIcon("Revoke", theme.DeleteIcon(), func() {
				t.u.confirm("Revoke key", fmt.Sprintf("Revoke %q? Tools using it stop working at once. "+
					"This cannot be undone.", name), "Revoke", func() {
					t.u.do("Revoke key", func() error { return t.u.b.RevokeKey(id) }, partKeys, nil)
				})
			})
			b.Importance = widget.DangerImportance
			t.revoke[id] = b
			action = b
		}
		row := tableRow(false, k.Name, k.Masked, budgetText(k), limitsText(k), k.Created.Format("2006-01-02"), "")
		row.(*fyne.Container).Objects[5] = action
		objs = append(objs, row)
	}
	t.list.Objects = objs
	t.list.Refresh()
}

// budgetText is "$31.70 of $50.00 monthly" or "no budget ($1.20 spent)".
func budgetText(k KeyView) string {
	if k.BudgetUSD <= 0 {
		return "no budget"
	}
	s := formatUSD(k.SpentUSD) + " of " + formatUSD(k.BudgetUSD)
	if k.Period != "" {
		s += " " + k.Period
	}
	return s
}

// limitsText is "60 RPM, 100k TPM, 1 model" or "none".
func limitsText(k KeyView) string {
	var parts []string
	if k.RPM > 0 {
		parts = append(parts, fmt.Sprintf("%d RPM", k.RPM))
	}
	if k.TPM > 0 {
		parts = append(parts, formatCompact(float64(k.TPM))+" TPM")
	}
	if n := len(k.Models); n == 1 {
		parts = append(parts, k.Models[0])
	} else if n > 1 {
		parts = append(parts, fmt.Sprintf("%d models", n))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (t *keysTab) showForm() {
	f := &keyFormDialog{}
	f.name = widget.NewEntry()
	f.name.SetPlaceHolder("e.g. laptop or ci-runner")
	f.budget = widget.NewEntry()
	f.budget.SetPlaceHolder("USD, empty for none")
	f.period = widget.NewSelect([]string{"daily", "monthly", "total"}, nil)
	f.period.SetSelected("monthly")
	f.rpm = widget.NewEntry()
	f.rpm.SetPlaceHolder("requests per minute, empty for none")
	f.tpm = widget.NewEntry()
	f.tpm.SetPlaceHolder("tokens per minute, empty for none")
	f.models = widget.NewEntry()
	f.models.SetPlaceHolder("comma-separated, empty for all")
	f.days = widget.NewEntry()
	f.days.SetPlaceHolder("days, empty for never")
	f.errLabel = widget.NewLabel("")
	f.errLabel.Importance = widget.DangerImportance
	f.errLabel.Hide()
	form := widget.NewForm(
		widget.NewFormItem("Name", f.name),
		widget.NewFormItem("Budget", f.budget),
		widget.NewFormItem("Budget period", f.period),
		widget.NewFormItem("Rate limit", f.rpm),
		widget.NewFormItem("Token limit", f.tpm),
		widget.NewFormItem("Models", f.models),
		widget.NewFormItem("Expires after", f.days),
	)
	f.cancel = widget.NewButton("Cancel", func() { f.d.Hide(); t.form = nil })
	f.ok = widget.NewButton("Create", func() { t.submit(f) })
	f.ok.Importance = widget.HighImportance
	f.d = dialog.NewCustomWithoutButtons("Create virtual key", container.NewVBox(form, f.errLabel,
		container.NewHBox(layoutSpacer(), f.cancel, f.ok)), t.u.win)
	f.d.Resize(fyne.NewSize(480, 420))
	t.form = f
	f.d.Show()
}

// parseKeyForm validates the form fields into a KeyForm, with messages that name the field.
func parseKeyForm(name, budget, period, rpm, tpm, models, days string) (KeyForm, error) {
	f := KeyForm{Name: strings.TrimSpace(name), Period: period}
	if f.Name == "" {
		return f, errors.New("Name: give the key a name so you can recognise it later")
	}
	var err error
	if f.BudgetUSD, err = parseNonNeg("Budget", budget, strconv.ParseFloat); err != nil {
		return f, err
	}
	atoi := func(s string, _ int) (int, error) { return strconv.Atoi(s) }
	if f.RPM, err = parseNonNeg("Rate limit", rpm, atoi); err != nil {
		return f, err
	}
	if f.TPM, err = parseNonNeg("Token limit", tpm, atoi); err != nil {
		return f, err
	}
	if f.ExpireDays, err = parseNonNeg("Expires after", days, atoi); err != nil {
		return f, err
	}
	for _, m := range strings.Split(models, ",") {
		if m = strings.TrimSpace(m); m != "" {
			f.Models = append(f.Models, m)
		}
	}
	return f, nil
}

func parseNonNeg[T int | float64](field, s string, parse func(string, int) (T, error)) (T, error) {
	var zero T
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	if s == "" {
		return zero, nil
	}
	v, err := parse(s, 64)
	if err != nil || v < 0 {
		return zero, fmt.Errorf("%s: %q is not a positive number", field, s)
	}
	return v, nil
}

func (t *keysTab) submit(f *keyFormDialog) {
	form, err := parseKeyForm(f.name.Text, f.budget.Text, f.period.Selected, f.rpm.Text, f.tpm.Text,
		f.models.Text, f.days.Text)
	if err != nil {
		f.errLabel.SetText(err.Error())
		f.errLabel.Show()
		return
	}
	f.ok.Disable()
	t.u.async(func() {
		plain, err := t.u.b.CreateKey(form)
		fyne.Do(func() {
			if err != nil {
				f.ok.Enable()
				f.errLabel.SetText(err.Error())
				f.errLabel.Show()
				return
			}
			f.d.Hide()
			t.form = nil
			t.showKey(form.Name, plain)
		})
		if err == nil {
			t.u.refresh(partKeys)
		}
	})
}

// showKey shows the plaintext key once with a Copy button. The label is cleared when the dialog closes,
// so the secret does not linger in the widget tree.
func (t *keysTab) showKey(name, plain string) {
	s := &keyShownDialog{}
	s.key = widget.NewLabelWithStyle(plain, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	s.key.Selectable = true
	s.copy = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() { t.u.copyText(plain) })
	s.copy.Importance = widget.HighImportance
	s.close = widget.NewButton("Done", func() {
		s.key.SetText("")
		s.d.Hide()
		t.shown = nil
	})
	warn := widget.NewLabel("Copy it now: it is shown only once and cannot be recovered.")
	warn.Wrapping = fyne.TextWrapWord
	s.d = dialog.NewCustomWithoutButtons("Key "+name+" created", container.NewVBox(warn,
		container.NewBorder(nil, nil, nil, s.copy, s.key), container.NewHBox(layoutSpacer(), s.close)), t.u.win)
	s.d.Resize(fyne.NewSize(560, 180))
	t.shown = s
	s.d.Show()
}
