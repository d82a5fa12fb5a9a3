-- Every dated Ofsted judgement we hold, one row per school and inspection, under the framework it
-- was made in (equity/analysis/ofsted.py names them and holds the rules that read this table):
--   single_word  overall effectiveness 1-4 (to August 2024): the bundled history (to 2020) and the
--                management information's latest OEIF graded inspection when it has an overall grade;
--   no_overall   a graded inspection from September 2024 to November 2025: sub-judgements, "Not judged" overall;
--   report_card  from November 2025: five-point grades per area, safeguarding met or not;
--   ungraded     an ungraded inspection's outcome ("School remains Good"): not a graded judgement.
-- urn is the school the row is filed under; inspected_urn the URN inspected (a predecessor's, before an
-- academy conversion, where the management information says so). equivalent puts every graded
-- judgement on the old 1-4 scale for thresholds only (never shown as a grade): 4 = a category of concern,
-- safeguarding not met / not effective, an area "Urgent improvement", or (no overall grade) the worst
-- key judgement 4; 3 = an area "Needs attention", or the worst key judgement 3; report cards otherwise 2.
-- below_good: equivalent 3 or 4.
create or replace table ofsted_judgement as
with rc_areas as (
    select urn, source_file,
           string_agg(area, ', ' order by area_order) filter (where grade = 5) as urgent,
           string_agg(area, ', ' order by area_order) filter (where grade = 4) as attention,
           count(*) filter (where not known) as unknown_areas,
           max(grade) as worst
    from ofsted_report_card group by urn, source_file),
mi as (
    select m.*, r.urgent, r.attention, r.unknown_areas, r.worst
    from ofsted_mi m left join rc_areas r using (urn, source_file)),
rows_ as (
    -- the bundled history (single-word grades; 'Satisfactory' = 3 before September 2012)
    select urn, urn as inspected_urn, inspection_date, null::date as publication_date, 'single_word' as framework,
           true as graded, grade, grade as equivalent, grade_label as summary, null as category_of_concern,
           null as safeguarding, 'inspection history' as source, source_file, 2 as priority
    from ofsted_inspection where grade between 1 and 4 and inspection_date is not null
    union all
    -- the latest OEIF graded inspection (with or without an overall grade)
    select urn, coalesce(oeif_urn, urn), oeif_start_date, oeif_publication_date,
           case when oeif_overall is not null then 'single_word' else 'no_overall' end, true, oeif_overall,
           case when oeif_overall is not null then oeif_overall
                when coalesce(oeif_category_of_concern, '') <> '' or oeif_safeguarding_effective = 'No' then 4
                else greatest(oeif_quality_of_education, oeif_behaviour_and_attitudes, oeif_personal_development,
                              oeif_leadership_and_management, oeif_early_years, oeif_sixth_form) end,
           case when oeif_overall is not null
                then ['Outstanding', 'Good', 'Requires improvement', 'Inadequate'][oeif_overall]
                else concat_ws(', ', 'quality of education ' || oeif_quality_of_education,
                               'behaviour and attitudes ' || oeif_behaviour_and_attitudes,
                               'personal development ' || oeif_personal_development,
                               'leadership and management ' || oeif_leadership_and_management,
                               'early years ' || oeif_early_years, 'sixth form ' || oeif_sixth_form) end
           || case when coalesce(oeif_category_of_concern, '') <> '' then '; category of concern ' || oeif_category_of_concern
                   else '' end
           || case oeif_safeguarding_effective when 'No' then '; safeguarding not effective'
                   when 'Yes' then '; safeguarding effective' else '' end,
           nullif(oeif_category_of_concern, ''), oeif_safeguarding_effective, 'management information', source_file, 1
    from mi where oeif_start_date is not null
    union all
    -- the latest report card
    select urn, coalesce(rc_urn, urn), rc_start_date, rc_publication_date, 'report_card', true, null,
           case when coalesce(category_of_concern, '') <> '' or safeguarding = 'Not met' or worst = 5 then 4
                when worst = 4 then 3 else 2 end,
           concat_ws('; ',
               case when urgent is not null then 'Urgent improvement: ' || urgent end,
               case when attention is not null then 'Needs attention: ' || attention end,
               case when urgent is null and attention is null then 'no area below Expected standard' end,
               case when unknown_areas > 0 then unknown_areas || ' area(s) with a value we do not know' end,
               'safeguarding ' || coalesce(lower(safeguarding), 'not stated'),
               case when coalesce(category_of_concern, '') <> '' then 'category of concern ' || category_of_concern end),
           nullif(category_of_concern, ''), safeguarding, 'management information', source_file, 1
    from mi where rc_start_date is not null
    union all
    -- the latest ungraded inspection
    select urn, coalesce(ungraded_urn, urn), ungraded_date, ungraded_publication_date, 'ungraded', false, null, null,
           coalesce(ungraded_outcome, 'outcome not stated'), null, null, 'management information', source_file, 1
    from mi where ungraded_date is not null)
select urn, inspected_urn, inspection_date, publication_date, framework, graded, grade, equivalent,
       equivalent >= 3 as below_good, summary, category_of_concern, safeguarding, source, source_file
from rows_
qualify row_number() over (partition by urn, inspected_urn, inspection_date, graded
                           order by priority, source_file) = 1;
