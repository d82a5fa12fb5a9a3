-- The LA indicator loaders' staging tables (equity.ingest.loaders.la_tables); marts_la_indicator.sql
-- maps their GSS codes to DfE's LA codes and writes la_indicator and la_neighbour.
create table if not exists la_indicator_raw (
    area_code_raw varchar, gss_code varchar, area_name varchar, area_level varchar, region_name varchar,
    key_stage tinyint, start_year integer, academic_year varchar, measure varchar, pupil_group varchar,
    value double, cohort double, status varchar, raw_token varchar, note varchar, publisher varchar,
    source_file varchar, source_row integer);
create table if not exists la_neighbour_raw (
    gss_code varchar, area_name varchar, rank integer, source_file varchar);
