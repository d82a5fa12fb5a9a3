-- The latest report card of a school as Ofsted's management information gives it: one row per area
-- (in Ofsted's order) with the school-level facts (inspection date, publication, safeguarding,
-- category of concern) repeated. No rows: the school has no report card in the file.
select m.urn, m.rc_start_date as inspection_date, m.rc_publication_date as publication_date,
       m.rc_inspection_type as inspection_type, m.rc_urn as inspected_urn, m.safeguarding, m.safeguarding_known,
       m.safeguarding_date, m.category_of_concern, a.area_order, a.area, a.grade_label, a.grade, a.grade_date,
       a.known, m.source_file, m.source_row
from ofsted_mi m join ofsted_report_card a on a.urn = m.urn and a.source_file = m.source_file
where m.urn = $urn and m.rc_start_date is not null
qualify dense_rank() over (order by m.rc_start_date desc, m.source_file) = 1
order by a.area_order
