# %%
from minivae.assignments.selfcheck import check
