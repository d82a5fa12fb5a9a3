-- Tables for Ofsted's management information ("state-funded schools - latest inspections"). Run by its
-- loader (equity/ingest/loaders/ofsted_mi.py) and again as a build step, so the tables exist with or without the file.
create table if not exists ofsted_mi (
    urn integer, school_name varchar, la_name varchar, ofsted_phase varchar, type_of_education varchar,
    -- the latest full inspection: a report card (from November 2025)
    rc_inspection_number varchar, rc_inspection_type varchar, rc_start_date date, rc_publication_date date,
    rc_urn integer, rc_relates_to_current varchar, category_of_concern varchar,
    safeguarding varchar, safeguarding_known boolean, safeguarding_date date,
    -- the latest graded inspection under the previous framework (OEIF, to November 2025)
    oeif_inspection_number varchar, oeif_inspection_type varchar, oeif_start_date date, oeif_publication_date date,
    oeif_urn integer, oeif_relates_to_current varchar, oeif_category_of_concern varchar,
    oeif_overall_label varchar, oeif_overall integer, oeif_quality_of_education integer,
    oeif_behaviour_and_attitudes integer, oeif_personal_development integer, oeif_leadership_and_management integer,
    oeif_safeguarding_effective varchar, oeif_early_years integer, oeif_sixth_form integer,
    -- the latest ungraded inspection
    ungraded_inspection_number varchar, ungraded_date date, ungraded_publication_date date, ungraded_urn integer,
    ungraded_relates_to_current varchar, ungraded_outcome varchar,
    most_recent_category_of_concern varchar, source_file varchar, source_row integer);
-- One row per school and report-card area. grade: 1 Exceptional, 2 Strong standard, 3 Expected standard,
-- 4 Needs attention, 5 Urgent improvement; NULL = not applicable, none, or a value we do not know
-- (grade_label keeps the text as published; known = false for an unknown value).
create table if not exists ofsted_report_card (
    urn integer, area_order integer, area varchar, grade_label varchar, grade integer, grade_date date,
    known boolean, source_file varchar, source_row integer);
-- Reading the file's cells: 'NULL' and blanks mean none; dates are dd/mm/yyyy.
create or replace temp macro mi_text(v) as nullif(nullif(trim(v), ''), 'NULL');
create or replace temp macro mi_date(v) as try_strptime(mi_text(v), '%d/%m/%Y')::date;
create or replace temp macro mi_int(v) as try_cast(mi_text(v) as integer);
-- OEIF grades 1-4; 9 = not applicable (no early years or sixth form) -> NULL
create or replace temp macro mi_oeif(v) as case when mi_int(v) between 1 and 4 then mi_int(v) end;
create or replace temp macro rc_grade(v) as case mi_text(v)
    when 'Exceptional' then 1 when 'Strong standard' then 2 when 'Expected standard' then 3
    when 'Needs attention' then 4 when 'Urgent improvement' then 5 end;

