-- The cells the plausibility checks kept out for one problem (bad_number, out_of_range, bad_urn).
-- Parameter: the problem.
select file, row, "column", raw, rule from rejected_cell where problem = ?
order by file, row, "column"
