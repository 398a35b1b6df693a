"""Panel pages: staff manage panels and recruitment codes; people sign up with a code,
confirm their address, and see, correct or delete their own data or unsubscribe through
the personal link in every mail (no account, no password)."""

from __future__ import annotations

import csv
import io
import re
import tempfile

import xlsxwriter
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from peiling import mail
from peiling.auth.access import roles_required
from peiling.auth.models import Role
from peiling.auth.services import record
from peiling.auth.throttle import throttle
from peiling.extensions import csrf, db
from peiling.formulas import csv_text
from peiling.geo import Municipality
from peiling.panel import bp, importing, services
from peiling.panel.models import (
    Mail,
    MailStatus,
    Member,
    MemberStatus,
    Panel,
    RecruitmentCode,
    Wave,
)
from peiling.problems import FormProblems
from peiling.surveys import formguard
from peiling.web import error_page

MANAGERS = (Role.RESEARCHER,)
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")
RESERVED = {"nieuw", "bevestigen", "mijn-gegevens", "afmelden", "w"}
PUBLIC = "/panel/"  # the path of the sign-up form's CSRF cookie


def panel_or_404(slug: str) -> Panel:
    return db.first_or_404(select(Panel).where(Panel.slug == slug))


def places_of(panel: Panel) -> list[Municipality]:
    return list(db.session.scalars(select(Municipality).where(
        Municipality.region_code == panel.region_code).order_by(Municipality.name)))  # fmt: skip


# ------------------------------------------------------------------------------- staff


@bp.get("/")
@roles_required(*MANAGERS)
def index() -> ResponseReturnValue:
    panels = db.session.scalars(select(Panel).order_by(Panel.name)).all()
    sizes = dict(db.session.execute(
        select(Member.panel_id, func.count()).where(Member.status == MemberStatus.ACTIVE)
        .group_by(Member.panel_id)).all())  # fmt: skip
    return render_template("panel/index.html", panels=panels, sizes=sizes)


@bp.route("/nieuw", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new() -> ResponseReturnValue:
    form = request.form
    problems = FormProblems()
    if request.method == "POST":
        slug, name = form.get("slug", "").strip(), form.get("name", "").strip()
        region = form.get("region", "")
        if not name or len(name) > 200:
            problems.add(_("Geef het panel een naam (hoogstens 200 tekens)."), "name")
        if not SLUG_RE.match(slug) or slug in RESERVED:
            problems.add(_("Het adres mag alleen kleine letters, cijfers en - bevatten."), "slug")
        if region not in ("drenthe", "groningen"):
            problems.add(_("Kies een provincie."), "region")
        if not problems:
            panel = Panel(slug=slug, name=name, region_code=region)
            db.session.add(panel)
            try:
                db.session.flush()
            except IntegrityError:
                db.session.rollback()
                problems.add(_("Er is al een panel met dit adres."), "slug")
            else:
                record(db.session, current_user, "created", f"panel:{slug}")
                db.session.commit()
                return redirect(url_for(".overview", slug=slug))
    return render_template("panel/new.html", form=form, problems=problems), 422 if problems else 200


@bp.get("/<slug>/")
@roles_required(*MANAGERS)
def overview(slug: str) -> ResponseReturnValue:
    return _overview_page(panel_or_404(slug))


def _overview_page(
    panel: Panel, refused: str | None = None, shown: FormProblems | None = None
) -> ResponseReturnValue:
    """The panel's page; after a refused targets, profile or codes form (`refused`), again
    with what was typed in that form (422), the reasons (`shown`) above it and beside the
    fields."""
    counts = db.session.execute(
        select(Member.municipality_code, Member.status, func.count())
        .where(Member.panel_id == panel.id)
        .group_by(Member.municipality_code, Member.status)
    ).all()
    members: dict[str, dict[str, int]] = {}
    for place, status, n in counts:
        members.setdefault(place, {})[status.value] = n
    codes = dict(db.session.execute(
        select(RecruitmentCode.batch, func.count()).where(RecruitmentCode.panel_id == panel.id)
        .group_by(RecruitmentCode.batch)).all())  # fmt: skip
    used = dict(db.session.execute(
        select(RecruitmentCode.batch, func.count())
        .where(RecruitmentCode.panel_id == panel.id, RecruitmentCode.used_at.is_not(None))
        .group_by(RecruitmentCode.batch)).all())  # fmt: skip
    failed = db.session.scalar(
        select(func.count()).select_from(Mail).join(Member, Member.id == Mail.member_id)
        .where(Member.panel_id == panel.id, Mail.status == MailStatus.FAILED))  # fmt: skip
    waves = db.session.scalars(select(Wave).where(Wave.panel_id == panel.id)
                               .order_by(Wave.created_at.desc())).all()  # fmt: skip
    months = services.joins_and_leaves(db.session, panel)
    questions = services.profile_text(panel.profile_fields or [])
    page = render_template("panel/overview.html", panel=panel, places=places_of(panel),
                           members=members, codes=codes, used=used, failed=failed,
                           waves=waves, months=months, profile_text=questions,
                           refused=refused, typed=request.form,
                           problems=shown or FormProblems())  # fmt: skip
    return page, 422 if refused else 200


def per_place(panel: Panel, prefix: str, bad: list[str]) -> FormProblems:
    """Each municipality's field `<prefix><code>` that does not hold a whole number."""
    names = {m.code: m.name for m in places_of(panel)}
    shown = FormProblems()
    for code in bad:
        shown.add(_("vul een heel getal in (0 of meer)"), f"{prefix}{code}", names[code])
    return shown


@bp.post("/<slug>/profiel")
@roles_required(*MANAGERS)
def profile_questions(slug: str) -> ResponseReturnValue:
    """The panel's own profile questions (gender is always asked)."""
    panel = panel_or_404(slug)
    fields, problems = services.parse_profile_fields(request.form.get("profielvragen", ""))
    if problems:
        shown = FormProblems()
        for problem in problems:
            shown.add(problem, "profielvragen", _("Profielvragen"))
        return _overview_page(panel, refused="profile", shown=shown)
    panel.profile_fields = fields
    record(db.session, current_user, "changed", f"panel:{slug}", profile=len(fields))
    db.session.commit()
    flash(_("Profielvragen opgeslagen."), "notice")
    return redirect(url_for(".overview", slug=slug))


@bp.post("/<slug>/doelen")
@roles_required(*MANAGERS)
def targets(slug: str) -> ResponseReturnValue:
    """How many members the panel wants per municipality (reliable figures per municipality)."""
    panel = panel_or_404(slug)
    bad = services.save_targets(panel, request.form, [m.code for m in places_of(panel)])
    if bad:
        return _overview_page(panel, refused="targets", shown=per_place(panel, "doel_", bad))
    record(db.session, current_user, "changed", f"panel:{slug}",
           targets=sum(panel.targets.values()))  # fmt: skip
    db.session.commit()
    flash(_("Doelen opgeslagen."), "notice")
    return redirect(url_for(".overview", slug=slug))


@bp.post("/<slug>/codes")
@roles_required(*MANAGERS)
def make_codes(slug: str) -> ResponseReturnValue:
    """A batch of recruitment codes: a number per municipality."""
    panel = panel_or_404(slug)
    wanted, bad = services.counts_per_place(request.form, "n_", [m.code for m in places_of(panel)])
    if bad:
        return _overview_page(panel, refused="codes", shown=per_place(panel, "n_", bad))
    if not wanted or sum(wanted.values()) > services.MAX_CODES_PER_BATCH:
        shown = FormProblems()
        shown.add(_("Vraag tussen 1 en %(n)s codes tegelijk aan.", n=services.MAX_CODES_PER_BATCH))
        return _overview_page(panel, refused="codes", shown=shown)
    batch, made = services.new_codes(db.session, panel, wanted)
    record(db.session, current_user, "changed", f"panel:{slug}", codes=made, batch=batch)
    db.session.commit()
    flash(_("%(n)s codes gemaakt (reeks %(batch)s).", n=made, batch=batch), "notice")
    return redirect(url_for(".overview", slug=slug))


@bp.get("/<slug>/codes/<row:batch>.<any(csv, xlsx):kind>")
@roles_required(*MANAGERS)
def download_codes(slug: str, batch: int, kind: str) -> ResponseReturnValue:
    """A batch of codes for the mail merge: municipality, code and the sign-up address."""
    panel = panel_or_404(slug)
    rows = services.codes_of_batch(db.session, panel, batch)
    if not rows:
        abort(404)
    signup = services.external("panel.signup", slug=slug)
    header = ["gemeentecode", "gemeente", "code", "aanmeldadres"]
    table = [[place, name, code, f"{signup}?code={code}"] for place, name, code in rows]
    record(db.session, current_user, "downloaded", f"panel:{slug}", codes=len(rows), batch=batch)
    db.session.commit()
    name = f"{slug}-codes-{batch}.{kind}"
    if kind == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(header)
        writer.writerows([csv_text(v) for v in row] for row in table)
        response = make_response("\ufeff" + out.getvalue())  # the BOM tells Excel it is UTF-8
        response.mimetype = "text/csv"
    else:
        with tempfile.TemporaryFile() as file:
            book = xlsxwriter.Workbook(file, {"strings_to_formulas": False,
                                              "strings_to_urls": False})  # fmt: skip
            sheet = book.add_worksheet("Codes")
            for r, values in enumerate([header, *table]):
                for c, value in enumerate(values):
                    sheet.write_string(r, c, value)
            sheet.autofilter(0, 0, len(table), len(header) - 1)
            sheet.freeze_panes(1, 0)
            book.close()
            file.seek(0)
            response = make_response(file.read())
        response.mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<slug>/importeren", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def import_members(slug: str) -> ResponseReturnValue:
    """Existing members from CSV or Excel: every bad row reported, nothing half-imported.
    (An upload endpoint: peiling.web allows it a larger body; 6,000 members is ~300 KB.)"""
    panel = panel_or_404(slug)
    report, problem = None, None
    if request.method == "POST":
        upload = request.files.get("bestand")
        only_good = request.form.get("alleen_goede") == "1"
        if upload is None or not upload.filename:
            problem = _("Kies een bestand.")
        else:
            try:
                rows = importing.read_rows(upload.filename, upload.read())
            except importing.UnreadableFile as exc:
                problem = str(exc)
            else:
                report = importing.import_members(db.session, panel, rows, only_good)
                if report.imported:
                    record(db.session, current_user, "changed", f"panel:{slug}",
                           imported=report.imported, refused=len(report.problems))  # fmt: skip
                db.session.commit()
    status = 422 if problem or (report and report.problems and not report.imported) else 200
    return render_template("panel/import.html", panel=panel, report=report,
                           problem=problem), status  # fmt: skip


# ------------------------------------------------------------------------------- public


@bp.route("/<slug>/aanmelden", methods=["GET", "POST"])
@csrf.exempt  # formguard instead: no session for members of the public
def signup(slug: str) -> ResponseReturnValue:
    panel = panel_or_404(slug)
    form = request.form if request.method == "POST" else {"code": request.args.get("code", "")}
    problems: dict[str, str] = {}
    if request.method == "POST":
        formguard.check(request.form.get(formguard.FIELD, ""))
        address = request.remote_addr or ""
        if throttle().wait(f"panelcode:{address}", address) is not None:
            return error_page(429)
        data = _profile_form(panel, form.get("email", "").strip())
        problems = data.problems(panel)
        if not problems:
            try:
                member, key = services.sign_up(db.session, panel, form.get("code", ""), data)
            except services.CodeRefused:
                throttle().failed(f"panelcode:{address}", address)
                problems["code"] = _("Deze code kennen we niet, of hij is al gebruikt. "
                                     "Kijk of je hem goed hebt overgetypt.")  # fmt: skip
            except services.DuplicateEmail:
                problems["email"] = _("Dit e-mailadres doet al mee aan het panel.")
            else:
                if key is None:  # the same sign-up a moment ago: its mail is on its way
                    db.session.rollback()
                else:
                    message = services.confirmation_mail(panel, member, key)
                    db.session.add(message)
                    db.session.commit()
                    mail.send_queued(db.session, [message.id])  # a failure stays queued
                return render_template("panel/signup_sent.html", panel=panel,
                                       email=member.email)  # fmt: skip
        db.session.rollback()
    response = make_response(
        render_template(
            "panel/signup.html",
            panel=panel,
            form=form,
            problems=problems,
            genders=services.GENDERS,
            csrf_token=formguard.token(),
        ),  # fmt: skip
        422 if problems else 200,
    )
    formguard.remember(response, PUBLIC)
    response.headers["Cache-Control"] = "no-store"
    return response


# The key in the address is the secret (256 bits): these forms need no CSRF token, and a
# mail program can unsubscribe with one click (RFC 8058). Changes are POSTs only, since
# mail scanners follow links.


@bp.route("/bevestigen/<key>", methods=["GET", "POST"])
@csrf.exempt
def confirm(key: str) -> ResponseReturnValue:
    if request.method == "GET":
        return _private(render_template("panel/confirm.html", key=key))
    member, moved = services.confirm(db.session, key)
    if member is None:
        return _private(render_template("panel/message.html", state="confirm_unknown"), 404)
    db.session.commit()
    panel = db.session.get(Panel, member.panel_id)
    return _private(render_template("panel/message.html", state="moved" if moved else "confirmed",
                                    panel=panel, member=member))  # fmt: skip


@bp.route("/mijn-gegevens/<key>", methods=["GET", "POST"])
@csrf.exempt
def my_data(key: str) -> ResponseReturnValue:
    member = _member_or_404(key, lock=request.method == "POST")
    panel = db.session.get(Panel, member.panel_id)
    problems: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        data = _profile_form(panel, member.email)  # type: ignore[arg-type]
        place = form.get("gemeente", "")
        problems = data.problems(panel)  # type: ignore[arg-type]
        if place not in {m.code for m in places_of(panel)}:  # type: ignore[arg-type]
            problems["gemeente"] = _("Kies je gemeente.")
        confirm_key = None
        try:
            confirm_key = services.change_email(db.session, member, form.get("email", member.email))
        except services.DuplicateEmail:
            problems["email"] = _("Dit e-mailadres doet al mee aan het panel.")
        except ValueError:
            problems["email"] = _("Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl.")
        if not problems:
            if confirm_key is not None:  # the new address counts once confirmed from there
                message = services.confirmation_mail(panel, member, confirm_key)  # type: ignore[arg-type]
                db.session.add(message)
            member.birth_year = int(data.birth_year)
            member.gender = data.gender or None
            member.municipality_code = place
            member.profile = {k: v for k, v in data.profile.items() if v}
            db.session.commit()
            if confirm_key is not None:
                mail.send_queued(db.session, [message.id])
            return redirect(url_for(".my_data", key=member.key, opgeslagen=1), 303)
        db.session.rollback()
    context = services.member_data(db.session, member)
    return _private(render_template(
        "panel/my_data.html", panel=panel, problems=problems, places=places_of(panel),  # type: ignore[arg-type]
        genders=services.GENDERS, saved=bool(request.args.get("opgeslagen")), **context,
    ), 422 if problems else 200)  # fmt: skip


@bp.post("/mijn-gegevens/<key>/verwijderen")
@csrf.exempt
def delete_me(key: str) -> ResponseReturnValue:
    member = _member_or_404(key, lock=True)
    panel = db.session.get(Panel, member.panel_id)
    services.delete_member(db.session, member)
    db.session.commit()
    return _private(render_template("panel/message.html", state="deleted", panel=panel))


@bp.route("/afmelden/<key>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(key: str) -> ResponseReturnValue:
    member = _member_or_404(key)
    panel = db.session.get(Panel, member.panel_id)
    if request.method == "GET":
        return _private(render_template("panel/unsubscribe.html", panel=panel, key=key,
                                        member=member))  # fmt: skip
    services.unsubscribe(member)
    db.session.commit()
    return _private(render_template("panel/message.html", state="unsubscribed", panel=panel,
                                    key=key))  # fmt: skip


def _profile_form(panel: Panel, email: str) -> services.SignUp:
    form = request.form
    fields = panel.profile_fields or []
    return services.SignUp(
        email=email,
        birth_year=form.get("geboortejaar", "").strip(),
        gender=form.get("geslacht", ""),
        profile={f["code"]: form.get(f"profiel_{f['code']}", "") for f in fields},
    )


def _member_or_404(key: str, lock: bool = False) -> Member:
    member = services.member_by_key(db.session, key, lock)
    if member is None:
        panel = services.deleted_panel(db.session, key)  # a second press of "delete", say
        if panel is not None:
            page = render_template("panel/message.html", state="deleted", panel=panel)
            abort(make_response(_private(page, 410)))
        page = render_template("panel/message.html", state="unknown")
        abort(make_response(_private(page, 404)))
    return member  # type: ignore[return-value]


def _private(body: ResponseReturnValue, status: int = 200) -> ResponseReturnValue:
    """Personal pages: never cached, never sent on as a referrer."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
