"""The op lists the op scan (``ops``) decides by: ops denied and why, the stateful ops known
to stay inside the process and the model, and the phrases a verdict is given in.

Example:
    >>> DENIED["ReadFile"]
    'reads files of the server (whole files)'
"""

from __future__ import annotations

import re

_READS = "reads files of the server"
_WRITES = "writes files on the server"

DENIED: dict[str, str] = {
    **dict.fromkeys(["ReadFile", "WholeFileReader", "WholeFileReaderV2"], f"{_READS} (whole files)"),
    "ImmutableConst": f"{_READS} (maps a file into memory)",
    **dict.fromkeys(
        ["MatchingFiles", "MatchingFilesDataset", "ExperimentalMatchingFilesDataset"], "lists files on the server's disk"
    ),
    **dict.fromkeys(
        [
            "TFRecordReader", "TFRecordReaderV2", "TextLineReader", "TextLineReaderV2", "FixedLengthRecordReader",
            "FixedLengthRecordReaderV2", "LMDBReader", "TFRecordDataset", "TFRecordDatasetV2", "TextLineDataset",
            "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2", "CSVDataset", "CSVDatasetV2",
            "ExperimentalCSVDataset", "LMDBDataset", "ExperimentalLMDBDataset", "LoadDataset", "SnapshotDataset",
            "SnapshotDatasetV2", "SnapshotChunkDataset", "ListSnapshotChunksDataset", "SnapshotDatasetReader",
            "SnapshotNestedDatasetReader", "LoadAndRemapMatrix", "GenerateVocabRemapping",
        ],
        f"{_READS} (records)",
    ),  # fmt: skip
    **dict.fromkeys(["SqlDataset", "ExperimentalSqlDataset"], "opens a database file of the server"),
    **dict.fromkeys(["Restore", "RestoreSlice", "RestoreV2"], f"{_READS} (a checkpoint, outside the model's own saver)"),
    **dict.fromkeys(
        ["Save", "SaveSlices", "SaveV2", "MergeV2Checkpoints"], f"{_WRITES} (a checkpoint, outside the model's own saver)"
    ),
    "WriteFile": f"{_WRITES} (whole files)",
    **dict.fromkeys(
        ["SaveDataset", "SaveDatasetV2", "DistributedSave", "DatasetToTFRecord", "ExperimentalDatasetToTFRecord"],
        f"{_WRITES} (a dataset)",
    ),
    **dict.fromkeys(
        [
            "CreateSummaryFileWriter", "CreateSummaryDbWriter", "SummaryWriter", "WriteSummary", "WriteScalarSummary",
            "WriteHistogramSummary", "WriteImageSummary", "WriteAudioSummary", "WriteGraphSummary", "WriteRawProtoSummary",
            "ImportEvent", "FlushSummaryWriter", "CloseSummaryWriter", "StatsAggregatorSetSummaryWriter",
        ],
        f"{_WRITES} (summaries)",
    ),  # fmt: skip
    **dict.fromkeys(
        ["DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "DebugNanCount", "DebugNumericSummary", "DebugNumericSummaryV2"],
        "sends tensors to debug addresses (files or the network)",
    ),
    **dict.fromkeys(["PyFunc", "PyFuncStateless", "EagerPyFunc"], "calls Python code of the process that runs it"),
    **dict.fromkeys(["Print", "PrintV2"], "writes into the server's logs"),
    "FileSystemSetConfiguration": "changes how the process reaches file systems",
    **dict.fromkeys(
        ["DataServiceDataset", "DataServiceDatasetV2", "DataServiceDatasetV3", "DataServiceDatasetV4", "RemoteCall",
         "WorkerHeartbeat", "Send", "Recv", "_Send", "_Recv", "_HostSend", "_HostRecv"],
        "talks to other processes over the network",
    ),  # fmt: skip
    **dict.fromkeys(
        ["GetSessionHandle", "GetSessionHandleV2", "GetSessionTensor", "DeleteSessionTensor"], "reaches tensors of other runs"
    ),
    # Filled from a file: allowed when the file is one of the model's assets (see _allowed_in_context).
    **dict.fromkeys(
        ["InitializeTableFromTextFile", "InitializeTableFromTextFileV2"],
        f"{_READS} (a table from a file that is not one of the model's assets)",
    ),
    # Cached in a file when given a file name; in memory (allowed) for an empty name.
    **dict.fromkeys(["CacheDataset", "CacheDatasetV2"], f"{_WRITES} (a dataset cache in a named file)"),
}  # fmt: skip

CHECKPOINT_OPS = frozenset({"Save", "SaveSlices", "SaveV2", "MergeV2Checkpoints", "Restore", "RestoreSlice", "RestoreV2"})
COLLECTIVE_OPS = re.compile(r"^(Collective|Nccl|CrossReplica|AllToAll|Infeed|Outfeed|.*TPU.*|XlaSparseCore|.*Minibatch)")

ALLOWED_STATEFUL = frozenset(
    {
        # variables
        "VarHandleOp", "ReadVariableOp", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
        "VarIsInitializedOp", "Variable", "VariableV2", "TemporaryVariable", "VariableShape", "DestroyResourceOp",
        "DisableCopyOnRead", "ResourceGather", "ResourceGatherNd", "ResourceStridedSliceAssign", "ResourceCountUpTo",
        "ReadVariableXlaSplitND", "AssignVariableXlaConcatND",
        # tables filled from tensors
        "HashTable", "HashTableV2", "MutableHashTable", "MutableHashTableV2", "MutableHashTableOfTensors",
        "MutableHashTableOfTensorsV2", "MutableDenseHashTable", "MutableDenseHashTableV2", "AnonymousHashTable",
        "AnonymousMutableHashTable", "AnonymousMutableHashTableOfTensors", "AnonymousMutableDenseHashTable",
        "InitializeTable", "InitializeTableV2", "InitializeTableFromDataset", "LookupTableFindV2", "LookupTableInsertV2",
        "LookupTableRemoveV2", "LookupTableSizeV2", "LookupTableExportV2", "LookupTableImportV2",
        # control flow and calls (the functions they call are scanned too)
        "If", "While", "Case", "StatefulPartitionedCall", "Assert", "CheckNumerics", "CheckNumericsV2",
        # random numbers
        "RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal", "ParameterizedTruncatedNormal",
        "Multinomial", "RandomShuffle", "RandomGamma", "RandomPoisson", "RandomPoissonV2", "RandomCrop",
        "StatefulUniform", "StatefulUniformInt", "StatefulUniformFullInt", "StatefulStandardNormal",
        "StatefulStandardNormalV2", "StatefulTruncatedNormal", "StatefulRandomBinomial", "RngSkip", "RngReadAndSkip",
        "NonDeterministicInts", "AnonymousSeedGenerator", "AnonymousRandomSeedGenerator", "DummySeedGenerator",
        "DeleteSeedGenerator", "DeleteRandomSeedGenerator", "StatelessRandomGetAlg", "SampleDistortedBoundingBox",
        "SampleDistortedBoundingBoxV2", "AllCandidateSampler", "FixedUnigramCandidateSampler",
        "LearnedUnigramCandidateSampler", "LogUniformCandidateSampler", "ThreadUnsafeUnigramCandidateSampler",
        "UniformCandidateSampler",
        # in-graph arrays, stacks, queues, staging areas, mutexes
        "TensorArray", "TensorArrayV2", "TensorArrayV3", "TensorArrayReadV3", "TensorArrayWriteV3",
        "TensorArrayGatherV3", "TensorArrayScatterV3", "TensorArrayConcatV3", "TensorArraySplitV3", "TensorArraySizeV3",
        "TensorArrayCloseV3", "TensorArrayGrad", "TensorArrayGradV2", "TensorArrayGradV3", "TensorArrayGradWithShape",
        "Stack", "StackV2", "StackPushV2", "StackPopV2", "StackCloseV2", "FIFOQueue", "FIFOQueueV2", "PaddingFIFOQueue",
        "PaddingFIFOQueueV2", "PriorityQueue", "PriorityQueueV2", "RandomShuffleQueue", "RandomShuffleQueueV2",
        "FakeQueue", "QueueEnqueueV2", "QueueEnqueueManyV2", "QueueDequeueV2", "QueueDequeueManyV2",
        "QueueDequeueUpToV2", "QueueCloseV2", "QueueIsClosedV2", "QueueSizeV2", "Barrier", "Stage", "Unstage",
        "StagePeek", "StageSize", "StageClear", "MapStage", "MapUnstage", "MapUnstageNoKey", "MapPeek", "MapSize",
        "MapIncompleteSize", "MapClear", "OrderedMapStage", "OrderedMapUnstage", "OrderedMapUnstageNoKey",
        "OrderedMapPeek", "OrderedMapSize", "OrderedMapIncompleteSize", "OrderedMapClear", "MutexV2", "MutexLock",
        "ConsumeMutexLock", "ConditionalAccumulator", "SparseConditionalAccumulator", "ResourceConditionalAccumulator",
        "ResourceAccumulatorApplyGradient", "ResourceAccumulatorNumAccumulated", "ResourceAccumulatorSetGlobalStep",
        "ResourceAccumulatorTakeGradient", "AddSparseToTensorsMap", "AddManySparseToTensorsMap",
        "TakeManySparseFromTensorsMap",
        # datasets over tensors in memory, and their iterators
        "TensorDataset", "TensorSliceDataset", "SparseTensorSliceDataset", "RangeDataset", "GeneratorDataset",
        "ReduceDataset", "DatasetToSingleElement", "ListDataset", "RandomDataset", "RandomDatasetV2",
        "ExperimentalRandomDataset", "ShuffleDatasetV2", "ShuffleDatasetV3", "ShuffleAndRepeatDatasetV2",
        "GlobalShuffleDataset", "GroupByReducerDataset", "ExperimentalGroupByReducerDataset", "ThreadPoolDataset",
        "ExperimentalThreadPoolDataset", "ThreadPoolHandle", "ExperimentalThreadPoolHandle", "AnonymousMemoryCache",
        "DeleteMemoryCache", "DummyMemoryCache", "DummyIterationCounter", "GlobalIterId", "Iterator", "IteratorV2",
        "AnonymousIterator", "AnonymousIteratorV2", "AnonymousIteratorV3", "OneShotIterator", "MakeIterator",
        "IteratorGetNext", "IteratorGetNextSync", "IteratorGetNextAsOptional", "DeleteIterator", "SerializeIterator",
        "DeserializeIterator", "IteratorToStringHandle", "IteratorFromStringHandle", "IteratorFromStringHandleV2",
        "IteratorGetDevice", "ExperimentalIteratorGetDevice", "IteratorGetModelProto", "AnonymousMultiDeviceIterator",
        "AnonymousMultiDeviceIteratorV3", "MultiDeviceIterator", "MultiDeviceIteratorInit",
        "MultiDeviceIteratorGetNextFromShard", "MultiDeviceIteratorToStringHandle",
        "MultiDeviceIteratorFromStringHandle", "DeleteMultiDeviceIterator", "SetStatsAggregatorDataset",
        "ExperimentalSetStatsAggregatorDataset", "StatsAggregatorHandle", "StatsAggregatorHandleV2",
        "ExperimentalStatsAggregatorHandle", "StatsAggregatorSummary", "ExperimentalStatsAggregatorSummary",
        # computations that TensorFlow marks stateful for other reasons
        "DeepCopy", "Empty", "Timestamp", "GuaranteeConst", "DeviceIndex", "SyncDevice", "CudnnRNN", "CudnnRNNV2",
        "CudnnRNNV3", "CudnnRNNBackprop", "CudnnRNNBackpropV2", "CudnnRNNBackpropV3", "ConvertToCooTensor",
        "BoostedTreesCreateEnsemble", "BoostedTreesDeserializeEnsemble", "BoostedTreesEnsembleResourceHandleOp",
        "BoostedTreesGetEnsembleStates", "BoostedTreesPredict", "BoostedTreesSerializeEnsemble",
        "BoostedTreesTrainingPredict", "BoostedTreesExampleDebugOutputs", "BoostedTreesCenterBias",
        "BoostedTreesUpdateEnsemble", "BoostedTreesUpdateEnsembleV2", "BoostedTreesCreateQuantileStreamResource",
        "BoostedTreesQuantileStreamResourceHandleOp", "BoostedTreesQuantileStreamResourceAddSummaries",
        "BoostedTreesQuantileStreamResourceDeserialize", "BoostedTreesQuantileStreamResourceFlush",
        "BoostedTreesQuantileStreamResourceGetBucketBoundaries", "BoostedTreesFlushQuantileSummaries",
        "IsBoostedTreesEnsembleInitialized", "IsBoostedTreesQuantileStreamResourceInitialized",
    }
)  # fmt: skip

STATEFUL_UNKNOWN = "a stateful op that is not known to stay inside the process and the model"
NOT_IN_TENSORFLOW = "not an op of this TensorFlow (a custom library's op, or a crafted graph)"
COLLECTIVE_REASON = "talks to other processes or devices (collective, TPU)"
