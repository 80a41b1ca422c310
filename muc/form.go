package muc

import (
	"strconv"
	"strings"
)

// XEP-0004 data forms, just the parts the MUC forms need.

type formField struct {
	v, typ, label string
	values        []string
	options       []string
}

func formElem(typ, formType string, fields []formField) *element {
	x := newElem(nsData, "x", "type", typ)
	if typ == "form" || typ == "result" {
		x.add(fieldElem(formField{v: "FORM_TYPE", typ: "hidden", values: []string{formType}}))
	} else {
		x.add(fieldElem(formField{v: "FORM_TYPE", values: []string{formType}}))
	}
	for _, f := range fields {
		x.add(fieldElem(f))
	}
	return x
}

func fieldElem(f formField) *element {
	e := newElem(nsData, "field", "var", f.v, "type", f.typ, "label", f.label)
	for _, o := range f.options {
		e.add(newElem(nsData, "option").add(newElem(nsData, "value").withText(o)))
	}
	for _, v := range f.values {
		e.add(newElem(nsData, "value").withText(v))
	}
	return e
}

// formType returns the FORM_TYPE of a data form.
func formType(x *element) string {
	for _, f := range x.children() {
		if f.Name.Local == "field" && f.attr("var") == "FORM_TYPE" {
			if v := f.child("", "value"); v != nil {
				return strings.TrimSpace(v.text())
			}
		}
	}
	return ""
}

// formValues maps each field var of a submitted form to its values. A
// field given twice is an error (the form is ambiguous).
func formValues(x *element) (map[string][]string, *stanzaError) {
	out := map[string][]string{}
	for _, f := range x.children() {
		if f.Name.Local != "field" || f.Name.Space != nsData {
			continue
		}
		v := f.attr("var")
		if v == "" {
			return nil, errBadRequest("a submitted form field has no var")
		}
		if _, dup := out[v]; dup {
			return nil, errBadRequest("form field " + quote(v) + " is given twice")
		}
		vals := []string{}
		for _, val := range f.children() {
			if val.Name.Local == "value" {
				vals = append(vals, val.text())
			}
		}
		out[v] = vals
	}
	return out, nil
}

func parseBool(s string) (bool, bool) {
	switch strings.TrimSpace(s) {
	case "1", "true":
		return true, true
	case "0", "false":
		return false, true
	}
	return false, false
}

func boolValue(b bool) []string {
	if b {
		return []string{"1"}
	}
	return []string{"0"}
}

func single(vals []string) (string, bool) {
	if len(vals) > 1 {
		return "", false
	}
	if len(vals) == 0 {
		return "", true
	}
	return vals[0], true
}

func itoa(i int) string { return strconv.Itoa(i) }
