-- The neighbourhood loaders' tables (equity.ingest.loaders.geography), created if not there yet:
-- the stg_* tables are working tables (marts_location.sql assembles the lsoa table from them and they
-- are dropped before the database is swapped in); the others are kept as read.
-- stg_lsoa_wide: one row per LSOA per IoD2019 file; each file fills the fields it has. Its value
-- columns are geography.VALUE_FIELDS, in that order (tests/test_build.py checks they agree).
create table if not exists stg_lsoa_wide (lsoa11 varchar, source_file varchar,
    imd_rank double, imd_decile double, income_rank double, income_decile double,
    employment_rank double, employment_decile double, education_rank double, education_decile double,
    health_rank double, health_decile double, crime_rank double, crime_decile double,
    barriers_rank double, barriers_decile double, living_env_rank double, living_env_decile double,
    idaci_rank double, idaci_decile double, idaopi_rank double, idaopi_decile double, pop_total double,
    pop_children double, pop_16_59 double, pop_60_plus double, pop_working_age double,
    income_exp double, employment_exp double, education_exp double, health_exp double,
    crime_exp double, barriers_exp double, living_env_exp double, income_numerator double,
    idaci_numerator double, idaopi_numerator double, employment_numerator double, cyp_rank double,
    cyp_decile double, adult_skills_rank double, adult_skills_decile double,
    geographical_barriers_rank double, geographical_barriers_decile double, wider_barriers_rank double,
    wider_barriers_decile double, indoors_rank double, indoors_decile double, outdoors_rank double,
    outdoors_decile double);
create table if not exists stg_lsoa_text (lsoa11 varchar, name varchar, lad19cd varchar, lad19nm varchar,
    source_file varchar);
create table if not exists stg_postcode_lsoa (postcode varchar, postcode_key varchar, status varchar,
    lsoa11 varchar, lsoa_name varchar, imd_rank double, idaci_rank double, idaci_score double,
    income_score double, employment_score double, idaopi_score double, source_file varchar, source_row integer);
create table if not exists stg_lsoa_centroid (lsoa11 varchar, name varchar, lat double, lon double,
    source_file varchar);
create table if not exists lsoa_boundary (lsoa11 varchar, name varchar, la_code varchar, ons_la_code varchar,
    lad_code varchar, geometry varchar, n_points integer, min_lon double, min_lat double, max_lon double,
    max_lat double, source_file varchar);
create table if not exists la_boundary (la_code varchar, ons_code varchar, la_name varchar, method varchar,
    geometry varchar, n_points integer, min_lon double, min_lat double, max_lon double, max_lat double,
    source_file varchar);
create table if not exists lsoa_ward (lsoa11 varchar, ward_code varchar, ward_name varchar, lad_code varchar,
    lad_name varchar, source_file varchar);
create table if not exists oa_lsoa (oa11 varchar, lsoa11 varchar, lsoa_name varchar, msoa11 varchar,
    msoa_name varchar, lad_code varchar, lad_name varchar, source_file varchar);
create table if not exists lad_deprivation (lad19cd varchar, lad19nm varchar, index_domain varchar,
    average_rank double, rank_average_rank double, average_score double, rank_average_score double,
    proportion_bottom_decile double, rank_proportion_bottom_decile double, year integer, source_file varchar);
create table if not exists ons_la_code (ons_code varchar, la_code varchar);
