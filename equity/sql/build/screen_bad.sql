-- The implausible tokens of a staging table, from the classified tokens of screen_tokens.sql: a
-- misread number ('bad_number') or a number outside its column's range (temp table _ranges: col,
-- lo, hi, rule, the rule in words for the report): col, raw, problem and rule.
select t.col, t.raw,
       case when t.status = 'bad_number' then 'bad_number' else 'out_of_range' end as problem,
       case when t.status = 'bad_number'
            then 'a plain number: no thousands separator, decimal comma or exponent'
            else r.rule end as rule
from screen_token t join _ranges r on r.col = t.col
where t.status = 'bad_number' or (t.status = 'ok' and (t.value < r.lo or t.value > r.hi));
