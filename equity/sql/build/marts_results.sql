-- The tables the app reads for outcomes: one row per school (or area) x key stage x year x
-- measure x group. Where the same figure arrives more than once, the file's own year beats a
-- history column, final beats provisional, a newer file beats an older one, and a full file
-- beats DfE's headline extract. The losing copies stay in the *_all tables.
-- (Only the keys and row ids are ranked; the winning rows are then kept with a semi-join.)
create table school_result as
with ranked as (
    select r.rowid as rid, row_number() over (
        partition by r.urn, r.key_stage, r.start_year, r.measure, r.pupil_group
        order by case r.kind when 'current' then 0 when 'history' then 1 else 2 end,
                 version_rank(r.version),
                 sf.start_year desc nulls last, r.source_file desc) as rk
    from school_result_all r left join source_file sf on sf.file = r.source_file
    where r.urn is not null)
select r.* from school_result_all r semi join (select rid from ranked where rk = 1) w on r.rowid = w.rid;

create table published_result as
with ranked as (
    select r.rowid as rid, row_number() over (
        partition by r.area_code, r.key_stage, r.start_year, r.measure, r.pupil_group
        order by case r.kind when 'current' then 0 when 'history' then 1 else 2 end,
                 version_rank(r.version),
                 sf.start_year desc nulls last, r.source_file desc) as rk
    from published_result_all r left join source_file sf on sf.file = r.source_file
    where r.area_code is not null and r.area_code <> '')
select r.* from published_result_all r semi join (select rid from ranked where rk = 1) w on r.rowid = w.rid;

-- What the app may show (the size rule and DfE's secondary suppression, in one place):
-- * a value for a group of 0 pupils is no value (status 'no_pupils'): e.g. DfE's KS2 2015/16 history
--   columns print "0%" for a school with no disadvantaged pupils;
-- * a value for a group of fewer than 6 pupils is hidden, whatever the source did ('small_cohort');
-- * differencing: where a group of 1-5 pupils is hidden and the all-pupils figure is shown, the other
--   group's figure and count are hidden too ('hidden_complement'), or the hidden one could be rebuilt
--   as (all x n_all - other x n_other) / n_small. Only for groups that split 'all' in two.
create view school_result_shown as
with sized as (
    select * replace (
        case when cohort < 6 then null else value end as value,
        case when cohort < 6 then null else ci_low end as ci_low,
        case when cohort < 6 then null else ci_high end as ci_high,
        case when cohort = 0 then 'no_pupils'
             when cohort < 6 and status = 'ok' then 'small_cohort' else status end as status)
    from school_result),
flagged as (
    select *,
        max(case when pupil_group = 'all' and value is not null then 1 else 0 end)
            over (partition by urn, key_stage, start_year, measure) as all_shown,
        max(case when pupil_group in ('disadvantaged', 'other') and cohort between 1 and 5 then pupil_group end)
            over (partition by urn, key_stage, start_year, measure) as small_group
    from sized)
select * exclude (all_shown, small_group, hide) from (
    select * replace (
            case when hide then null else value end as value,
            case when hide then null else ci_low end as ci_low,
            case when hide then null else ci_high end as ci_high,
            case when hide then null else cohort end as cohort,
            case when hide then 'hidden_complement' else status end as status)
    from (select *, coalesce(all_shown = 1 and small_group is not null and pupil_group in ('disadvantaged', 'other')
                             and pupil_group <> small_group and value is not null, false) as hide
          from flagged));
