-- Staging tables filled by the source loaders, and helpers shared by every loader.
-- cell_value: a plain number only (sign, digits, one decimal point, optional %). '1,234', '4,5' and
-- '1e3' are status 'bad_number', never 1234, 45 or 1000. Python twin: equity.codes.parse_cell.
create or replace macro cell_value(v) as (
    case when regexp_full_match(trim(v), '[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)%?')
              and isfinite(try_cast(replace(trim(v), '%', '') as double))
         then try_cast(replace(trim(v), '%', '') as double) end);
create or replace macro cell_status(v) as (
    case when v is null or trim(v) = '' then 'blank'
         when cell_value(v) is not null then 'ok'
         when trim(v) = '#out_of_range' then 'out_of_range'
         when upper(trim(v)) in ('SUPP', 'NE', 'NP', 'NA', 'LOWCOV', 'NEW', 'SP', 'NOT AVAIL') then upper(trim(v))
         when upper(trim(v)) = 'N/A' then 'NA'
         when upper(trim(v)) = 'NOTAVAIL' then 'NOT AVAIL'
         when lower(trim(v)) in ('x', 'c', 'z', 'u', 'low') then lower(trim(v))
         when trim(v) in (':', '..') then 'x'
         when regexp_full_match(trim(v), '[+-]?[0-9.,]*[0-9][0-9.,]*([eE][+-]?[0-9]+)?%?') then 'bad_number'
         else 'unknown' end);
-- Versions of one year's results: the latest wins (final, then revised, then provisional).
create or replace macro version_rank(v) as (
    case v when 'final' then 0 when 'revised' then 1 when 'provisional' then 2 else 3 end);
create or replace macro academic_year(y) as (cast(y as varchar) || '/' || lpad(cast((y + 1) % 100 as varchar), 2, '0'));

create table source_file (
    file varchar, kind varchar, key_stage tinyint, start_year integer, academic_year varchar,
    version varchar, rows integer, encoding varchar, year_evidence varchar, status varchar);

create table school_result_all (
    urn integer, la_code varchar, key_stage tinyint, start_year integer, academic_year varchar,
    measure varchar, pupil_group varchar, value double, ci_low double, ci_high double, cohort integer,
    status varchar, raw_token varchar, version varchar, kind varchar, source_file varchar,
    source_row integer, rectype varchar);

create table published_result_all (
    area_code varchar, area_level varchar, key_stage tinyint, start_year integer, academic_year varchar,
    measure varchar, pupil_group varchar, value double, ci_low double, ci_high double, cohort integer,
    status varchar, raw_token varchar, version varchar, kind varchar, source_file varchar,
    source_row integer, rectype varchar);

create table school_context_all (
    urn integer, key_stage tinyint, start_year integer, academic_year varchar, version varchar,
    source_file varchar, name varchar, la_code varchar, postcode varchar, nftype varchar, rectype varchar,
    establishment_group varchar, admissions varchar, age_range varchar, gender varchar,
    pupils_on_roll double, cohort double, pct_disadvantaged double, prior_attainment double,
    prior_scale varchar, pct_prior_low double, pct_prior_high double, pct_eal double, pct_sen double,
    p8_banding varchar);

create table unknown_token (file varchar, row integer, "column" varchar, token varchar);
-- Cells the plausibility checks kept out (equity/ingest/plausibility.py): the column as named in the header,
-- the raw cell, the problem (bad_number, out_of_range, bad_urn) and the rule it broke.
create table rejected_cell (file varchar, row integer, "column" varchar, raw varchar, problem varchar, rule varchar);

create table school_census (
    urn integer, la_code varchar, start_year integer, academic_year varchar, school_type varchar,
    pupils_on_roll double, pct_fsm_ever double, pct_eal double, pct_sen_support double, pct_ehcp double,
    source_file varchar);
create table school_spine (
    urn integer, la_code varchar, name varchar, postcode varchar, town varchar, open_date varchar,
    close_date varchar, is_open varchar, minor_group varchar, nftype varchar, is_primary varchar,
    is_secondary varchar, is_post16 varchar, age_low varchar, age_high varchar, gender varchar,
    religion varchar, admissions varchar, other_urn varchar, start_year integer, source_file varchar);
create table gias_establishment (
    urn integer, la_code varchar, name varchar, type varchar, type_group varchar, status varchar,
    phase varchar, open_date varchar, close_date varchar, postcode varchar, lsoa11 varchar,
    easting double, northing double, pupils_on_roll double, pct_fsm double, ofsted_rating varchar,
    source_file varchar);
create table school_link (urn integer, link_urn integer, link_name varchar, link_type varchar,
    link_date date, source_file varchar);
create table ofsted_inspection (urn integer, grade integer, grade_label varchar, inspection_date date,
    source_file varchar);
create table school_coordinates (urn integer, lat double, lon double, postcode varchar, phase varchar,
    source_file varchar);
create table school_absence (urn integer, la_code varchar, start_year integer, academic_year varchar,
    overall_absence_pct double, persistent_absence_pct double, source_file varchar);
create table la (la_code varchar, la_name varchar, region_code varchar, region_name varchar, source_file varchar);
